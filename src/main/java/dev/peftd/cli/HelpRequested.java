package dev.peftd.cli;

/**
 * {@code --help} or {@code -h} among a command's options: whoever dispatched the command prints its usage and
 * exits 0 ({@link Cli}, {@link BenchCommand}).
 */
final class HelpRequested extends UsageException {
    HelpRequested() {
        super("help requested");
    }
}
