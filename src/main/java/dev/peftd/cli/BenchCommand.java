package dev.peftd.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** {@code bench <what>}: benchmarks, each a subcommand registered here (e.g. {@code bench train}). */
final class BenchCommand implements Command {

    private final Map<String, Command> benches = new TreeMap<>();

    BenchCommand add(String name, Command bench) {
        benches.put(name, bench);
        return this;
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        if (args.length == 0 || !benches.containsKey(args[0])) {
            throw new UsageException("which benchmark? known: " + String.join(", ", benches.keySet()));
        }
        return benches.get(args[0]).run(Arrays.copyOfRange(args, 1, args.length), out, err);
    }
}
