package dev.peftd.bench;

import ai.djl.engine.Engine;
import com.google.gson.Gson;
import dev.peftd.core.generate.DecodeBenchmark;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.serving.LocalServing;
import dev.peftd.serving.LocalServing.Target;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Measures the serving path (the same engine, cache and hooks requests use): decode tokens/s of the bare base, the
 * base with an unmerged adapter and the merged checkpoint; the cold load of an adapter from the store (copy to local
 * disk, read, factors to the device); and the adapter swap between requests, both when the next adapter is cached
 * and when it was evicted and comes back from local disk. Medians over the runs, after one warm-up each.
 * {@code bench serving} prints it; tools/bench/serving_bench.sh puts it beside transformers + PEFT. It goes through
 * {@link LocalServing}, serving's public face, so it measures what requests use without reaching into the engine.
 */
public final class ServingBenchmark {

    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private final LocalServing serving;
    private final int promptTokens;
    private final int newTokens;
    private final int runs;

    /** The counts of one benchmark run (the command line's defaults: all cores, 128, 64, 5). */
    public record Settings(int threads, int promptTokens, int newTokens, int runs) {
    }

    private ServingBenchmark(LocalServing serving, int promptTokens, int newTokens, int runs) {
        this.serving = serving;
        this.promptTokens = promptTokens;
        this.newTokens = newTokens;
        this.runs = runs;
    }

    /**
     * Measures {@code baseDir} with the adapter at {@code storeAdapterDir} on the engine's default device (after
     * {@link Threads#limitTo}) and prints the named results, one JSON object with {@code json}.
     */
    public static void run(Path baseDir, Path storeAdapterDir, Settings s, boolean json, PrintStream out)
            throws IOException {
        try (LocalServing serving = new LocalServing(Engine.getInstance().defaultDevice())) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("engine", "peftd");
            report.put("model", baseDir.toString());
            report.put("threads", s.threads());
            report.put("prompt_tokens", s.promptTokens());
            report.put("new_tokens", s.newTokens());
            report.put("runs", s.runs());
            report.putAll(new ServingBenchmark(serving, s.promptTokens(), s.newTokens(), s.runs())
                    .run(baseDir, storeAdapterDir, Files.createTempDirectory("peftd-serving-bench")));
            if (json) {
                report.replaceAll((k, v) -> v instanceof Double d && !Double.isFinite(d) ? null : v); // not measurable
                out.println(new com.google.gson.GsonBuilder().serializeNulls().create().toJson(report));
            } else {
                report.forEach((k, v) -> out.printf(Locale.ROOT, "%-34s %s%n", k,
                        v instanceof Double d ? String.format(Locale.ROOT, "%.2f", d) : v));
            }
        }
    }

    /**
     * @param storeAdapterDir the adapter as the store holds it (a PEFT directory)
     * @param scratch         where local copies and the merged checkpoint go
     * @return named medians: tokens/s and milliseconds
     */
    private Map<String, Double> run(Path baseDir, Path storeAdapterDir, Path scratch) throws IOException {
        Map<String, Double> results = new LinkedHashMap<>();
        long start = System.nanoTime();
        int vocabSize = serving.loadBase(baseDir);
        results.put("base_load_ms", millis(System.nanoTime() - start));
        long[] prompt = DecodeBenchmark.syntheticPrompt(1, promptTokens, vocabSize);

        Path local = copy(storeAdapterDir, scratch.resolve("local-adapter"));
        Target adapter = Target.adapter(baseDir, "bench-adapter", local);
        putRates(results, "decode_base", decodeRates(Target.base(baseDir), prompt));
        putRates(results, "decode_unmerged", decodeRates(adapter, prompt));
        Path merged = scratch.resolve("merged");
        start = System.nanoTime();
        serving.merge(baseDir, local, merged);
        results.put("merge_write_ms", millis(System.nanoTime() - start));
        putRates(results, "decode_merged", decodeRates(Target.merged(merged), prompt));
        serving.unloadBase(merged);

        putTimes(results, "adapter_cold_load_from_store", coldLoadMillis(baseDir, storeAdapterDir, scratch));
        putTimes(results, "adapter_swap_cached", swapMillis(baseDir, local, true));
        putTimes(results, "adapter_swap_evicted", swapMillis(baseDir, local, false));
        results.put("adapter_device_mb", serving.adapterBytes(adapter) / 1e6);
        return results;
    }

    /**
     * Decode tokens/s at batch 1 through a session, stop tokens off so every run generates all tokens: by wall time
     * and by the process's CPU time (the compute runs on the model's batching thread, not on this one; the CPU-time
     * rate stays meaningful on a machine shared with other work).
     *
     * @return {wall rate, cpu rate}
     */
    private double[] decodeRates(Target target, long[] prompt) {
        GenerationOptions options = GenerationOptions.greedy(newTokens).withStopTokenIds(-1);
        double[] wall = new double[runs];
        double[] cpu = new double[runs];
        for (int r = 0; r <= runs; r++) { // run 0 warms up
            long[] marks = new long[4]; // wall first, wall last, cpu first, cpu last
            serving.generate(target, prompt, options, token -> {
                int at = token.index() == 0 ? 0 : 1;
                marks[at] = System.nanoTime();
                marks[2 + at] = (long) (ProcessStats.cpuSeconds() * 1e9);
            });
            if (r > 0) {
                wall[r - 1] = (newTokens - 1) / ((marks[1] - marks[0]) / 1e9);
                // the process's CPU time moves in 10 ms ticks: a run shorter than one tick has no CPU-time rate
                cpu[r - 1] = marks[3] > marks[2] ? (newTokens - 1) / ((marks[3] - marks[2]) / 1e9) : Double.NaN;
            }
        }
        return new double[] {Medians.of(wall), Medians.of(cpu)};
    }

    private static void putRates(Map<String, Double> results, String name, double[] rates) {
        results.put(name + "_tokens_per_s", rates[0]);
        results.put(name + "_tokens_per_cpu_s", rates[1]);
    }

    /** Store to device: a fresh local copy of the files, then a cache miss that reads them and builds the factors. */
    private double[] coldLoadMillis(Path baseDir, Path storeAdapterDir, Path scratch) throws IOException {
        Stopwatch watch = new Stopwatch(runs);
        for (int r = 0; r <= runs; r++) {
            String key = "cold-" + r;
            watch.start();
            serving.prepare(Target.adapter(baseDir, key, copy(storeAdapterDir, scratch.resolve(key))));
            watch.stop(r);
            serving.evictAdapter(key);
        }
        return watch.medians();
    }

    /**
     * Time from one request's end to the next request (on another adapter) being ready to compute: opening its
     * session. Cached: the other adapter is in the cache (a lookup). Evicted: it must be read again from local disk.
     */
    private double[] swapMillis(Path baseDir, Path local, boolean cached) {
        Target a = Target.adapter(baseDir, "swap-a", local);
        Target b = Target.adapter(baseDir, "swap-b", local);
        Stopwatch watch = new Stopwatch(runs);
        for (int r = 0; r <= runs; r++) {
            serving.prepare(a);
            if (cached) {
                serving.prepare(b);
                serving.prepare(a);
            } else {
                serving.evictAdapter("swap-b");
            }
            watch.start();
            serving.prepare(b);
            watch.stop(r);
        }
        serving.evictAdapter("swap-a");
        serving.evictAdapter("swap-b");
        return watch.medians();
    }

    private static void putTimes(Map<String, Double> results, String name, double[] wallAndCpu) {
        results.put(name + "_ms", wallAndCpu[0]);
        results.put(name + "_cpu_ms", wallAndCpu[1]);
    }

    /** Wall and thread-CPU milliseconds of repeated work; run 0 is the warm-up and is left out. */
    private static final class Stopwatch {
        private final double[] wall;
        private final double[] cpu;
        private long wallStart;
        private long cpuStart;

        Stopwatch(int runs) {
            wall = new double[runs];
            cpu = new double[runs];
        }

        void start() {
            wallStart = System.nanoTime();
            cpuStart = THREADS.getCurrentThreadCpuTime();
        }

        void stop(int run) {
            if (run > 0) {
                wall[run - 1] = millis(System.nanoTime() - wallStart);
                cpu[run - 1] = millis(THREADS.getCurrentThreadCpuTime() - cpuStart);
            }
        }

        double[] medians() {
            return new double[] {Medians.of(wall), Medians.of(cpu)};
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy adapter " + from + ": " + e.getMessage(), e);
        }
        return to;
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
