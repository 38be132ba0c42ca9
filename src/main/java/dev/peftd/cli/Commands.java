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
        Cli.register("version", (args, out, err) -> {
            out.println("peftd " + Commands.class.getPackage().getImplementationVersion());
            return 0;
        });
        Cli.register("generate", new GenerateCommand());
        Cli.register("score", new ScoreCommand());
        AdapterCommands.register();
        Cli.register("train", new TrainCommand());
        Cli.register("bench", new BenchCommand().add("generate", new GenerateBench()).add("train", new TrainBench()).add("train-one", new TrainBenchRun())
                .add("serving", new ServingBench()));
    }
}
