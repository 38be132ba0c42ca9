package dev.peftd.cli;

/** The list of subcommands; each feature adds its line here. */
final class Commands {
    private static boolean registered;

    private Commands() {
    }

    static synchronized void registerAll() {
        if (registered) {
            return;
        }
        registered = true;
        Cli.register("version", "usage: version\n  Prints the peftd version.", (args, out, err) -> {
            out.println("peftd " + Commands.class.getPackage().getImplementationVersion());
            return 0;
        });
        Cli.register("generate", GenerateCommand.HELP, new GenerateCommand());
        Cli.register("score", ScoreCommand.HELP, new ScoreCommand());
        AdapterCommands.register();
        Cli.register("train", TrainCommand.HELP, new TrainCommand());
        Cli.register("compare", CompareCommand.HELP, new CompareCommand());
        BenchCommand bench = Benchmarks.command();
        Cli.register("bench", bench.usage(), bench);
        Cli.register("doctor", DoctorCommand.HELP, new DoctorCommand());
    }
}
