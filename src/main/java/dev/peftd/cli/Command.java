package dev.peftd.cli;

import java.io.PrintStream;

/** One subcommand of the jar. Throws {@link UsageException} for anything the user must fix; returns the exit code. */
@FunctionalInterface
interface Command {
    int run(String[] args, PrintStream out, PrintStream err) throws UsageException;
}
