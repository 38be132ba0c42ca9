package dev.peftd.serving;

import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.DecodeBenchmark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Measures the serving path (the same engine, cache and hooks requests use): decode tokens/s of the bare base, the
 * base with an unmerged adapter and the merged checkpoint; the cold load of an adapter from the store (copy to local
 * disk, read, factors to the device); and the adapter swap between requests, both when the next adapter is cached
 * and when it was evicted and comes back from local disk. Medians over the runs, after one warm-up each.
 * {@code bench serving} prints it; tools/bench/serving_bench.sh puts it beside transformers + PEFT.
 */
public final class ServingBenchmark {

    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private final ServingEngine engine;
    private final int promptTokens;
    private final int newTokens;
    private final int runs;

    public ServingBenchmark(ServingEngine engine, int promptTokens, int newTokens, int runs) {
        this.engine = engine;
        this.promptTokens = promptTokens;
        this.newTokens = newTokens;
        this.runs = runs;
    }

    /**
     * @param storeAdapterDir the adapter as the store holds it (a PEFT directory)
     * @param scratch         where local copies and the merged checkpoint go
     * @return named medians: tokens/s and milliseconds
     */
    public Map<String, Double> run(Path baseDir, Path storeAdapterDir, Path scratch) throws IOException {
        Map<String, Double> results = new LinkedHashMap<>();
        long start = System.nanoTime();
        LoadedBase base = engine.bases().get(baseDir);
        results.put("base_load_ms", millis(System.nanoTime() - start));
        long[] prompt = DecodeBenchmark.syntheticPrompt(1, promptTokens, base.model().config().vocabSize());

        Path local = copy(storeAdapterDir, scratch.resolve("local-adapter"));
        ServedModel bare = ServedModel.base("base", baseDir);
        ServedModel adapter = ServedModel.adapter("adapter", baseDir, "bench-adapter", () -> local);
        putRates(results, "decode_base", decodeRates(bare, prompt));
        putRates(results, "decode_unmerged", decodeRates(adapter, prompt));
        Path merged = scratch.resolve("merged");
        start = System.nanoTime();
        AdapterMerger.merge(base, local, merged);
        results.put("merge_write_ms", millis(System.nanoTime() - start));
        putRates(results, "decode_merged", decodeRates(ServedModel.merged("merged", merged), prompt));
        engine.bases().unload(merged);

        putTimes(results, "adapter_cold_load_from_store", coldLoadMillis(base, storeAdapterDir, scratch));
        putTimes(results, "adapter_swap_cached", swapMillis(baseDir, local, true));
        putTimes(results, "adapter_swap_evicted", swapMillis(baseDir, local, false));
        results.put("adapter_device_mb", adapterMegabytes(base, local));
        return results;
    }

    /**
     * Decode tokens/s at batch 1 through a session, stop tokens off so every run generates all tokens: by wall time
     * and by this thread's CPU time (with one libtorch thread all the compute runs on it, so the CPU-time rate stays
     * meaningful on a machine shared with other work).
     *
     * @return {wall rate, cpu rate}
     */
    private double[] decodeRates(ServedModel model, long[] prompt) {
        GenerationOptions options = GenerationOptions.greedy(newTokens).withStopTokenIds(-1);
        double[] wall = new double[runs];
        double[] cpu = new double[runs];
        try (ServingEngine.Session session = engine.open(model, "bench")) {
            for (int r = 0; r <= runs; r++) { // run 0 warms up
                long[] marks = new long[4]; // wall first, wall last, cpu first, cpu last
                session.generate(prompt, options, token -> {
                    int at = token.index() == 0 ? 0 : 1;
                    marks[at] = System.nanoTime();
                    marks[2 + at] = THREADS.getCurrentThreadCpuTime();
                });
                if (r > 0) {
                    wall[r - 1] = (newTokens - 1) / ((marks[1] - marks[0]) / 1e9);
                    cpu[r - 1] = (newTokens - 1) / ((marks[3] - marks[2]) / 1e9);
                }
            }
        }
        return new double[] {median(wall), median(cpu)};
    }

    private static void putRates(Map<String, Double> results, String name, double[] rates) {
        results.put(name + "_tokens_per_s", rates[0]);
        results.put(name + "_tokens_per_cpu_s", rates[1]);
    }

    /** Store to device: a fresh local copy of the files, then a cache miss that reads them and builds the factors. */
    private double[] coldLoadMillis(LoadedBase base, Path storeAdapterDir, Path scratch) {
        Stopwatch watch = new Stopwatch(runs);
        for (int r = 0; r <= runs; r++) {
            Path target = scratch.resolve("cold-" + r);
            String key = "cold-" + r;
            watch.start();
            engine.adapters().acquire(key, base, () -> copy(storeAdapterDir, target)).close();
            watch.stop(r);
            engine.adapters().invalidate(key);
        }
        return watch.medians();
    }

    /**
     * Time from one request's end to the next request (on another adapter) being ready to compute: opening its
     * session. Cached: the other adapter is in the cache (a lookup). Evicted: it must be read again from local disk.
     */
    private double[] swapMillis(Path baseDir, Path local, boolean cached) {
        ServedModel a = ServedModel.adapter("a", baseDir, "swap-a", () -> local);
        ServedModel b = ServedModel.adapter("b", baseDir, "swap-b", () -> local);
        Stopwatch watch = new Stopwatch(runs);
        for (int r = 0; r <= runs; r++) {
            engine.open(a, "bench").close();
            if (cached) {
                engine.open(b, "bench").close();
                engine.open(a, "bench").close();
            } else {
                engine.adapters().invalidate("swap-b");
            }
            watch.start();
            engine.open(b, "bench").close();
            watch.stop(r);
        }
        engine.adapters().invalidate("swap-a");
        engine.adapters().invalidate("swap-b");
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
            return new double[] {median(wall), median(cpu)};
        }
    }

    private double adapterMegabytes(LoadedBase base, Path local) {
        try (AdapterCache.Lease lease = engine.adapters().acquire("bench-adapter", base, () -> local)) {
            return lease.adapter().bytes() / 1e6;
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

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
