package dev.peftd.cli;

import dev.peftd.bench.AdapterRowsBenchmark;
import dev.peftd.bench.BenchmarkException;
import dev.peftd.bench.GenerateBenchmark;
import dev.peftd.bench.ServingBatchBenchmark;
import dev.peftd.bench.ServingBenchmark;
import dev.peftd.bench.Threads;
import dev.peftd.bench.TrainBenchmark;
import dev.peftd.bench.TrainBenchmarkRun;
import dev.peftd.core.generate.PassThreads;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The options of {@code bench generate|serving|serving-batch|adapter-rows|train|train-one}: parsed and checked here,
 * measured by {@link dev.peftd.bench}, which depends on nothing of the command line.
 */
final class Benchmarks {

    static final String GENERATE_HELP = """
            usage: bench generate --model DIR [--dtype D] [--threads N] [--batch B] [--prompt-tokens P] [--new-tokens N]
                                  [--runs R] [--json]
              Prefill and decode tokens/s on synthetic prompts (medians over --runs after a warm-up run; defaults:
              all cores, batch 1, 128 prompt tokens, 64 new tokens, 5 runs), the Generator path at batch 1, and the
              process RSS run by run.
            """ + ModelArgument.DTYPE_HELP;

    static final String SERVING_HELP = """
            usage: bench serving --model DIR --adapter DIR [--threads N] [--prompt-tokens P] [--new-tokens N] [--runs R] [--json]
              The serving engine's decode tokens/s for the base model, the adapter unmerged and merged, and the
              adapter's load and swap times (defaults: all cores, 128 prompt tokens, 64 new tokens, 5 runs).""";

    static final String SERVING_BATCH_HELP = """
            usage: bench serving-batch --model DIR --adapters DIR [--streams 1,4,16,64] [--threads N] [--prompt-tokens P]
                                       [--new-tokens N] [--runs R] [--dtype D] [--pass-threads auto|N] [--json]
              Aggregate tokens/s of concurrent greedy streams through the serving engine's continuous batching: each
              stream on its own adapter (the PEFT directories in --adapters, cycled), on the bare base, and on the
              one-sequence-per-forward path (defaults: streams 1,4,16,64, all cores, 32 prompt tokens, 32 new tokens,
              3 runs; medians after a warm-up). tools/bench/peft_mixed_batch.py makes the adapters and measures PEFT.
              --pass-threads     threads a batched pass computes with: auto (the service's default: one for a small
                                 pass, --threads for a large one) or a count
            """ + ModelArgument.DTYPE_HELP;

    static final String ADAPTER_ROWS_HELP = """
            usage: bench adapter-rows --model DIR --adapters DIR [--rows 8,16,64] [--threads N] [--steps S]
                                      [--flush-mb M] [--json]
              One decode step's adapted linears alone, each row on its own adapter (the PEFT directories in
              --adapters, cycled), per form of the rows' deltas: the base GEMMs alone, Java deltas, each row's merged
              weight, gathered factors; ms a step, medians over --steps (default 200) after a warm-up, with --flush-mb
              MB written between steps (default 64; 0 keeps the caches warm). Float32 weights.""";

    static final String TRAIN_HELP = """
            usage: bench train [--methods lora,lora_fa,lora_plus,vera,delta_lora] [--shape smollm2-135m | --model-dir DIR]
                               [--steps N] [--batch B] [--seq T] [--threads N] [--r R] [--vera-r R] [--dtype D] [--rounds N]
                               [--python PATH] [--script tools/bench/train_bench.py] [--xmx SIZE] [--skip-activations] [--json]
              Trains each method with peftd and with PEFT + torch (the --python running --script) on the same
              random model and batches, each run in a fresh process, and prints step time, tokens/s, peak RSS and
              saved activations side by side (defaults: 6 steps, batch 4 x 256, 2 threads, r 16, VeRA r 256, 1 round;
              --python: python3 on PATH, which needs torch, transformers and peft; --dtype: the base's type on both
              stacks, float32 (default), bfloat16 or float16). peftd runs with glibc's tunables as its image sets
              them (GLIBC_TUNABLES, unless set), PEFT with glibc's defaults.""";

    static final String TRAIN_ONE_HELP = """
            usage: bench train-one --model DIR --method M [--steps N] [--batch B] [--seq T] [--threads N] [--r R]
                                   [--vera-r R] [--dtype D] [--activations]
              One peftd row of 'bench train' (which runs it in its own JVM): trains on random batches and prints one
              JSON line with step times, tokens/s and peak RSS (--activations: the saved activations instead).
            """ + ModelArgument.DTYPE_HELP;

    private Benchmarks() {
    }

    static BenchCommand command() {
        return new BenchCommand()
                .add("generate", GENERATE_HELP, Benchmarks::generate)
                .add("train", TRAIN_HELP, Benchmarks::train)
                .add("train-one", TRAIN_ONE_HELP, Benchmarks::trainOne)
                .add("serving", SERVING_HELP, Benchmarks::serving)
                .add("serving-batch", SERVING_BATCH_HELP, Benchmarks::servingBatch)
                .add("adapter-rows", ADAPTER_ROWS_HELP, Benchmarks::adapterRows);
    }

    static int generate(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args,
                Set.of("model", "dtype", "threads", "batch", "prompt-tokens", "new-tokens", "runs"), Set.of("json"));
        GenerateBenchmark.Settings settings = new GenerateBenchmark.Settings(
                positive(o, "threads", Runtime.getRuntime().availableProcessors()), positive(o, "batch", 1),
                positive(o, "prompt-tokens", 128), positive(o, "new-tokens", 64), positive(o, "runs", 5),
                ModelArgument.dtype(o));
        Path dir = ModelArgument.directory(o.required("model"));
        Threads.limitTo(settings.threads());
        try (CausalLm model = ModelArgument.load(dir, settings.dtype())) {
            GenerateBenchmark.run(model, dir, settings, o.flag("json"), out);
            return 0;
        }
    }

    static int serving(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapter", "threads", "prompt-tokens", "new-tokens", "runs"),
                Set.of("json"));
        ServingBenchmark.Settings settings = new ServingBenchmark.Settings(
                positive(o, "threads", Runtime.getRuntime().availableProcessors()), positive(o, "prompt-tokens", 128),
                positive(o, "new-tokens", 64), positive(o, "runs", 5));
        Path model = ModelArgument.directory(o.required("model"));
        Path adapter = ModelArgument.directory(o.required("adapter"));
        Threads.limitTo(settings.threads());
        try {
            ServingBenchmark.run(model, adapter, settings, o.flag("json"), out);
            return 0;
        } catch (IOException e) {
            err.println("bench serving: " + e.getMessage());
            return 1;
        }
    }

    static int servingBatch(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapters", "streams", "threads", "prompt-tokens",
                "new-tokens", "runs", "dtype", "pass-threads"), Set.of("json"));
        ServingBatchBenchmark.Settings settings = new ServingBatchBenchmark.Settings(
                positive(o, "threads", Runtime.getRuntime().availableProcessors()), counts(o, "streams", "1,4,16,64"),
                positive(o, "prompt-tokens", 32), positive(o, "new-tokens", 32), positive(o, "runs", 3),
                ModelArgument.dtype(o), passThreads(o));
        Path model = ModelArgument.directory(o.required("model"));
        Path adapters = ModelArgument.directory(o.required("adapters"));
        Threads.limitTo(settings.threads());
        try {
            ServingBatchBenchmark.run(model, adapters, settings, o.flag("json"), out);
            return 0;
        } catch (IOException e) {
            err.println("bench serving-batch: " + e.getMessage());
            return 1;
        }
    }

    static int adapterRows(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapters", "rows", "threads", "steps", "flush-mb"),
                Set.of("json"));
        AdapterRowsBenchmark.Settings settings = new AdapterRowsBenchmark.Settings(
                positive(o, "threads", Runtime.getRuntime().availableProcessors()), counts(o, "rows", "8,16,64"),
                positive(o, "steps", 200), nonNegative(o, "flush-mb", 64));
        Path dir = ModelArgument.directory(o.required("model"));
        Path adapters = ModelArgument.directory(o.required("adapters"));
        Threads.limitTo(settings.threads());
        try (CausalLm model = ModelArgument.load(dir)) {
            AdapterRowsBenchmark.run(model, adapters, settings, o.flag("json"), out);
            return 0;
        } catch (IOException e) {
            err.println("bench adapter-rows: " + e.getMessage());
            return 1;
        }
    }

    /** {@code --name}'s comma-separated counts, each at least 1. */
    private static List<Integer> counts(CliOptions o, String name, String defaults) throws UsageException {
        List<Integer> counts = new java.util.ArrayList<>();
        for (String n : o.string(name, defaults).split(",")) {
            try {
                counts.add(Integer.parseInt(n.trim()));
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + ": '" + n + "' is not a number (give e.g. " + defaults + ")");
            }
            if (counts.get(counts.size() - 1) < 1) {
                throw new UsageException("--" + name + ": every count must be at least 1, got " + n);
            }
        }
        return List.copyOf(counts);
    }

    static int train(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("methods", "shape", "steps", "batch", "seq", "threads", "r",
                "vera-r", "python", "script", "model-dir", "xmx", "rounds", "dtype"), Set.of("json", "skip-activations"));
        ModelDtype dtype = ModelArgument.dtype(o, ModelDtype.FLOAT32);
        if (dtype == ModelDtype.AUTO) {
            throw new UsageException("--dtype: bench train needs float32, bfloat16 or float16 (both stacks load the"
                    + " same checkpoint in that type)");
        }
        String python = o.has("python") ? o.required("python")
                : TrainBenchmark.python3OnPath(System.getenv("PATH")).map(Path::toString).orElseThrow(() ->
                        new UsageException("--python is required: no python3 on PATH (give a Python with torch,"
                                + " transformers and peft)"));
        TrainBenchmark.Settings settings = new TrainBenchmark.Settings(
                List.of(o.string("methods", "lora,lora_fa,lora_plus,vera,delta_lora").split(",")),
                o.string("shape", "smollm2-135m"), o.has("model-dir") ? Path.of(o.required("model-dir")) : null,
                positive(o, "steps", 6), positive(o, "batch", 4), positive(o, "seq", 256), positive(o, "threads", 2),
                positive(o, "r", 16), positive(o, "vera-r", 256), dtype.externalName(), positive(o, "rounds", 1), python,
                Path.of(o.string("script", "tools/bench/train_bench.py")), o.string("xmx", "2g"),
                o.flag("skip-activations"), o.flag("json"));
        try {
            TrainBenchmark.run(settings, out, err);
            return 0;
        } catch (BenchmarkException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    static int trainOne(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "method", "steps", "batch", "seq", "threads", "r",
                "vera-r", "dtype"), Set.of("activations"));
        String method = o.required("method");
        if (!TrainBenchmarkRun.METHODS.contains(method)) {
            throw new UsageException("--method: unknown '" + method + "'; known: " + TrainBenchmarkRun.METHODS);
        }
        TrainBenchmarkRun.Settings settings = new TrainBenchmarkRun.Settings(method, positive(o, "steps", 6),
                positive(o, "batch", 4), positive(o, "seq", 256), positive(o, "r", 16), positive(o, "vera-r", 256),
                o.flag("activations"));
        try (CausalLm model = ModelArgument.load(ModelArgument.directory(o.required("model")), ModelArgument.dtype(o))) {
            out.println(TrainBenchmarkRun.run(model, settings));
            return 0;
        }
    }

    /** {@code --pass-threads}: {@code auto} (the default) or a count of at least 1. */
    private static PassThreads passThreads(CliOptions o) throws UsageException {
        try {
            return PassThreads.parse(o.string("pass-threads", "auto"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--pass-threads: " + e.getMessage());
        }
    }

    private static int positive(CliOptions o, String name, int fallback) throws UsageException {
        return atLeast(o, name, fallback, 1);
    }

    private static int nonNegative(CliOptions o, String name, int fallback) throws UsageException {
        return atLeast(o, name, fallback, 0);
    }

    private static int atLeast(CliOptions o, String name, int fallback, int least) throws UsageException {
        int value = o.integer(name, fallback);
        if (value < least) {
            throw new UsageException("--" + name + " must be at least " + least + ", got " + value);
        }
        return value;
    }
}
