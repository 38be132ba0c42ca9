package dev.peftd.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** Entry point of the command line: dispatches {@code java -jar peftd.jar <command> …} to a {@link Command}. */
public final class Cli {

    /** Exit code for bad arguments, missing files and corrupt inputs: one line on stderr explains. */
    public static final int USAGE_ERROR = 2;

    private static final Map<String, Command> COMMANDS = new TreeMap<>();

    private Cli() {
    }

    /** Registers a subcommand; commands register themselves from {@link Commands}. */
    static void register(String name, Command command) {
        COMMANDS.put(name, command);
    }

    public static boolean handles(String[] args) {
        Commands.registerAll();
        return args.length > 0 && (COMMANDS.containsKey(args[0]) || args[0].equals("help") || args[0].equals("--help"));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        CliLogging.toStderr();
        Commands.registerAll();
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
            out.println("usage: java -jar peftd.jar <command> [options]   (no command starts the service)");
            out.println("commands: " + String.join(", ", COMMANDS.keySet()));
            return 0;
        }
        Command command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("peftd: unknown command '" + args[0] + "'; known: " + String.join(", ", COMMANDS.keySet()));
            return USAGE_ERROR;
        }
        try {
            return command.run(Arrays.copyOfRange(args, 1, args.length), out, err);
        } catch (UsageException e) {
            err.println("peftd " + args[0] + ": " + e.getMessage());
            return USAGE_ERROR;
        }
    }
}
