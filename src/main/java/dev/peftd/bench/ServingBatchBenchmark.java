package dev.peftd.bench;

import ai.djl.engine.Engine;
import com.google.gson.Gson;
import dev.peftd.core.generate.DecodeBenchmark;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.PassThreads;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.serving.LocalServing;
import dev.peftd.serving.LocalServing.Target;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Aggregate generation throughput of the serving engine under concurrency: at each number of concurrent streams,
 * every stream on its own adapter (stream i on the i-th PEFT directory under the adapters folder, cycling when there
 * are fewer), the same streams on the bare base, and the same adapter streams on the one-sequence-per-forward path
 * serving used before batching (bounded, as then, by {@code peftd.serving.max-concurrent}'s default of 2). Each
 * stream has the same synthetic prompt and generates exactly {@code newTokens} greedy tokens (stop ids off); the rate
 * is all streams' generated tokens over the wall time from the first submission to the last token (prefill
 * included). The three run alternately within each run, after one warm-up each; medians over the runs, and the
 * adapters/base ratio as the median of each run's own ratio. tools/bench/peft_mixed_batch.py measures PEFT's
 * mixed-adapter batch generation on the same model and adapters.
 */
public final class ServingBatchBenchmark {

    /** The old path's bound on generations computing at once (the service's default max-concurrent). */
    private static final int UNBATCHED_CONCURRENCY = 2;

    /** The counts of one run (command-line defaults: all cores, streams 1,4,16,64, 32 prompt tokens, 32 new, 3 runs). */
    public record Settings(int threads, List<Integer> streams, int promptTokens, int newTokens, int runs,
                           ModelDtype dtype, PassThreads passThreads) {
    }

    private final Settings settings;
    private final Path baseDir;
    private final List<Path> adapters;

    private ServingBatchBenchmark(Settings settings, Path baseDir, List<Path> adapters) {
        this.settings = settings;
        this.baseDir = baseDir;
        this.adapters = adapters;
    }

    /**
     * @param adaptersDir a folder of PEFT adapter directories for {@code baseDir} (as peft_mixed_batch.py writes them)
     */
    public static void run(Path baseDir, Path adaptersDir, Settings s, boolean json, PrintStream out) throws IOException {
        List<Path> adapters = AdapterDirs.in(adaptersDir);
        int maxStreams = s.streams().stream().mapToInt(Integer::intValue).max().orElse(1);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("engine", "peftd");
        report.put("model", baseDir.toString());
        report.put("adapters", adapters.size());
        report.put("threads", s.threads());
        report.put("pass_threads", s.passThreads().threads() == PassThreads.AUTO ? "auto" : s.passThreads().threads());
        report.put("prompt_tokens", s.promptTokens());
        report.put("new_tokens", s.newTokens());
        report.put("runs", s.runs());
        report.put("dtype", s.dtype().externalName());
        ServingBatchBenchmark bench = new ServingBatchBenchmark(s, baseDir, adapters);
        try (LocalServing batched = new LocalServing(Engine.getInstance().defaultDevice(), maxStreams, 1,
                s.passThreads());
             LocalServing unbatched = new LocalServing(Engine.getInstance().defaultDevice(), 1, UNBATCHED_CONCURRENCY)) {
            report.put("results", bench.measure(batched, unbatched));
        }
        if (json) {
            out.println(new Gson().toJson(report));
            return;
        }
        report.forEach((k, v) -> {
            if (!k.equals("results")) {
                out.printf(Locale.ROOT, "%-14s %s%n", k, v);
            }
        });
        out.printf(Locale.ROOT, "%8s %16s %16s %16s %12s %14s%n", "streams", "adapters tok/s", "base tok/s",
                "one-seq tok/s", "adapt/base", "vs 1 stream");
        @SuppressWarnings("unchecked")
        List<Map<String, Double>> rows = (List<Map<String, Double>>) report.get("results");
        double single = rows.get(0).get("adapters_tokens_per_s");
        for (Map<String, Double> row : rows) {
            out.printf(Locale.ROOT, "%8.0f %16.1f %16.1f %16.1f %12.2f %14.2f%n", row.get("streams"),
                    row.get("adapters_tokens_per_s"), row.get("base_tokens_per_s"), row.get("unbatched_tokens_per_s"),
                    row.get("adapters_over_base"), row.get("adapters_tokens_per_s") / single);
        }
    }

    private List<Map<String, Double>> measure(LocalServing batched, LocalServing unbatched) {
        int vocab = batched.loadBase(baseDir, settings.dtype());
        unbatched.loadBase(baseDir, settings.dtype());
        long[] prompt = DecodeBenchmark.syntheticPrompt(1, settings.promptTokens(), vocab);
        GenerationOptions options = GenerationOptions.greedy(settings.newTokens()).withStopTokenIds(-1);
        List<Map<String, Double>> rows = new ArrayList<>();
        for (int streams : settings.streams()) {
            List<Target> adapted = new ArrayList<>();
            List<Target> base = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                Path dir = adapters.get(i % adapters.size());
                adapted.add(Target.adapter(baseDir, settings.dtype(), dir.getFileName().toString(), dir));
                base.add(Target.base(baseDir, settings.dtype()));
            }
            // Alternating within each run (adapters, base, one-sequence path), so a burst of load on this machine
            // lands on all three columns rather than on one; the ratio is the median of each run's own ratio.
            List<java.util.function.DoubleSupplier> variants = List.of(
                    () -> batchedRate(batched, adapted, prompt, options),
                    () -> batchedRate(batched, base, prompt, options),
                    () -> unbatchedRate(unbatched, adapted, prompt, options));
            variants.forEach(java.util.function.DoubleSupplier::getAsDouble); // warm-up: adapters loaded, cache made
            double[][] rates = new double[variants.size()][settings.runs()];
            double[] ratios = new double[settings.runs()];
            for (int r = 0; r < settings.runs(); r++) {
                for (int v = 0; v < variants.size(); v++) {
                    rates[v][r] = variants.get(v).getAsDouble();
                }
                ratios[r] = rates[0][r] / rates[1][r];
            }
            Map<String, Double> row = new LinkedHashMap<>();
            row.put("streams", (double) streams);
            row.put("adapters_tokens_per_s", Medians.of(rates[0]));
            row.put("base_tokens_per_s", Medians.of(rates[1]));
            row.put("unbatched_tokens_per_s", Medians.of(rates[2]));
            row.put("adapters_over_base", Medians.of(ratios));
            rows.add(row);
        }
        return rows;
    }

    /** All streams submitted at once into the running batch; tokens/s over the wall time until the last is done. */
    private static double batchedRate(LocalServing serving, List<Target> targets, long[] prompt, GenerationOptions options) {
        long start = System.nanoTime();
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        for (Target target : targets) {
            futures.add(serving.submit(target, prompt, options));
        }
        long tokens = 0;
        for (CompletableFuture<GenerationResult> f : futures) {
            tokens += f.join().generatedIds().length;
        }
        return tokens / ((System.nanoTime() - start) / 1e9);
    }

    /** One thread per stream on the one-sequence path (at most {@link #UNBATCHED_CONCURRENCY} computing at once). */
    private static double unbatchedRate(LocalServing serving, List<Target> targets, long[] prompt,
                                        GenerationOptions options) {
        ExecutorService pool = Executors.newFixedThreadPool(targets.size());
        try {
            long start = System.nanoTime();
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (Target target : targets) {
                futures.add(pool.submit(() -> serving.generateUnbatched(target, prompt, options)));
            }
            long tokens = 0;
            for (Future<GenerationResult> f : futures) {
                tokens += f.get().generatedIds().length;
            }
            return tokens / ((System.nanoTime() - start) / 1e9);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }
}
