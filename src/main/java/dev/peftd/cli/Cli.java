package dev.peftd.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Entry point of the command line: dispatches {@code java -jar peftd.jar <command> …} to a {@link Command}, and
 * decides when the jar starts the service instead ({@link #startsService}).
 */
public final class Cli {

    /** Exit code for bad arguments, missing files and corrupt inputs: one line on stderr explains. */
    public static final int USAGE_ERROR = 2;

    static final String SERVE_USAGE = """
            usage: java -jar peftd.jar [serve] [--name=value ...]
              Starts the service (the same as no arguments). Every argument is a Spring Boot property,
              e.g. --server.port=8081 or --spring.profiles.active=prod.""";

    private static final Map<String, Registered> COMMANDS = new TreeMap<>();

    private record Registered(String usage, Command command) {
    }

    private Cli() {
    }

    /** Registers a subcommand with what its {@code --help} prints; commands register themselves from {@link Commands}. */
    static void register(String name, String usage, Command command) {
        COMMANDS.put(name, new Registered(usage, command));
    }

    /**
     * Whether these arguments start the service: none, {@code serve}, or Spring Boot properties ({@code --name=value}),
     * with or after {@code serve}. Anything else is a command, and a misspelt command is a usage error rather than a
     * service started in the current folder.
     */
    public static boolean startsService(String[] args) {
        int first = args.length > 0 && args[0].equals("serve") ? 1 : 0;
        for (int i = first; i < args.length; i++) {
            if (!args[i].startsWith("--") || isHelp(args[i])) {
                return false;
            }
        }
        return true;
    }

    /** The arguments for Spring Boot: all of them but a leading {@code serve}. */
    public static String[] serviceArguments(String[] args) {
        return args.length > 0 && args[0].equals("serve") ? Arrays.copyOfRange(args, 1, args.length) : args;
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        CliLogging.toStderr();
        Commands.registerAll();
        if (args.length == 0 || isHelp(args[0])) {
            out.println(usage());
            return 0;
        }
        if (args[0].equals("help")) {
            return help(Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        if (args[0].equals("serve") || args[0].startsWith("--")) {
            return serveUsage(args, out, err);
        }
        Registered command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("peftd: unknown command '" + args[0] + "'");
            err.println(usage());
            return USAGE_ERROR;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (rest.length > 0 && isHelp(rest[0])) {
            out.println(command.usage());
            return 0;
        }
        try {
            return command.command().run(rest, out, err);
        } catch (HelpRequested e) {
            out.println(command.usage());
            return 0;
        } catch (UsageException e) {
            err.println("peftd " + args[0] + ": " + e.getMessage());
            return USAGE_ERROR;
        }
    }

    /** {@code help} lists the commands; {@code help <command>} prints the command's usage. */
    private static int help(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            out.println(usage());
            return 0;
        }
        if (args[0].equals("serve")) {
            out.println(SERVE_USAGE);
            return 0;
        }
        Registered command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("peftd help: unknown command '" + args[0] + "'");
            err.println(usage());
            return USAGE_ERROR;
        }
        out.println(command.usage());
        return 0;
    }

    /** Only reached when the arguments do not start the service: {@code serve --help}, or a stray non-property. */
    private static int serveUsage(String[] args, PrintStream out, PrintStream err) {
        if (Arrays.stream(args).anyMatch(Cli::isHelp)) {
            out.println(SERVE_USAGE);
            return 0;
        }
        String problem = Arrays.stream(serviceArguments(args)).filter(a -> !a.startsWith("--")).findFirst()
                .map(stray -> "'" + stray + "' is not a Spring Boot property (--name=value)")
                .orElse("the service starts from the jar's main method, not from a command");
        err.println("peftd serve: " + problem);
        err.println(SERVE_USAGE);
        return USAGE_ERROR;
    }

    static boolean isHelp(String arg) {
        return arg.equals("--help") || arg.equals("-h");
    }

    private static String usage() {
        return """
                usage: java -jar peftd.jar [serve] [--name=value ...]   starts the service (Spring Boot properties)
                       java -jar peftd.jar <command> [options]          runs one command without the service
                commands: %s
                'java -jar peftd.jar <command> --help' (or 'help <command>') explains one command."""
                .formatted(String.join(", ", COMMANDS.keySet()));
    }
}
