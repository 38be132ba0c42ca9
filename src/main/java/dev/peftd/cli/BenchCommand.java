package dev.peftd.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** {@code bench <what>}: benchmarks, each a subcommand registered here (e.g. {@code bench train}). */
final class BenchCommand implements Command {

    private final Map<String, String> helps = new TreeMap<>();
    private final Map<String, Command> benches = new TreeMap<>();

    BenchCommand add(String name, String help, Command bench) {
        helps.put(name, help);
        benches.put(name, bench);
        return this;
    }

    /** The first line of every benchmark's help. */
    String usage() {
        return helps.values().stream().map(help -> help.lines().findFirst().orElse(""))
                .collect(Collectors.joining("\n", "", "\n'bench <what> --help' explains one benchmark."));
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        if (args.length == 0 || !benches.containsKey(args[0])) {
            throw new UsageException("which benchmark? known: " + String.join(", ", benches.keySet()));
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            if (rest.length > 0 && Cli.isHelp(rest[0])) {
                throw new HelpRequested();
            }
            return benches.get(args[0]).run(rest, out, err);
        } catch (HelpRequested e) {
            out.println(helps.get(args[0]));
            return 0;
        }
    }
}
