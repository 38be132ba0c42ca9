package dev.peftd.bench;

import com.google.gson.Gson;
import dev.peftd.core.generate.DecodeBenchmark;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.generate.LiveArrays;
import dev.peftd.core.generate.Generator;
import dev.peftd.core.model.CausalLm;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench generate}: prefill and decode tokens/s (medians over the runs, after one warm-up run), the same for the
 * {@link Generator} path at batch 1 (logits to Java, sampling, decoding), and the process RSS, which must not grow
 * from run to run. tools/bench/generate_bench.sh runs this and tools/bench/generate_bench.py (transformers) and prints
 * the ratio.
 */
public final class GenerateBenchmark {

    /** Every count at least 1 (the command line checks it). */
    public record Settings(int threads, int batch, int promptTokens, int newTokens, int runs, ModelDtype dtype) {
    }

    private GenerateBenchmark() {
    }

    /**
     * Measures {@code model} (loaded from {@code dir} after {@link Threads#limitTo}) and prints the report, one JSON
     * object with {@code json}.
     */
    public static void run(CausalLm model, Path dir, Settings s, boolean json, PrintStream out) {
        int batch = s.batch();
        int promptTokens = s.promptTokens();
        int newTokens = s.newTokens();
        int runs = s.runs();
        long rssLoaded = rssMegabytes();
        DecodeBenchmark.run(model, batch, promptTokens, newTokens); // warm-up: JIT, allocator, libtorch caches
        long rssWarm = rssMegabytes();
        List<DecodeBenchmark.Timing> timings = new ArrayList<>();
        List<Long> rssAfterRun = new ArrayList<>();
        List<Integer> arraysAfterRun = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            timings.add(DecodeBenchmark.run(model, batch, promptTokens, newTokens));
            rssAfterRun.add(rssMegabytes());
            arraysAfterRun.add(LiveArrays.count());
        }
        double prefill = Medians.of(timings.stream()
                .mapToDouble(t -> batch * promptTokens / seconds(t.prefillNanos())).toArray());
        double decode = Medians.of(timings.stream()
                .mapToDouble(t -> batch * (newTokens - 1) / seconds(t.decodeNanos())).toArray());
        double generator = generatorDecodeRate(model, promptTokens, newTokens, runs);
        long params = model.linears().values().stream().mapToLong(l -> l.weightShape().size()).sum();
        ModelDtype loaded = ModelDtype.of(model.halfType()); // what auto resolved to
        report(out, json, dir, loaded, params, s.threads(), batch, promptTokens, newTokens, runs, prefill, decode,
                generator, rssLoaded, rssWarm, new Memory(rssAfterRun, arraysAfterRun));
    }

    /** Decode tokens/s of the real generation path at batch 1 (median), stop tokens disabled so every run is full length. */
    private static double generatorDecodeRate(CausalLm model, int promptTokens, int newTokens, int runs) {
        Generator generator = new Generator(model, null);
        long[] prompt = DecodeBenchmark.syntheticPrompt(1, promptTokens, model.config().vocabSize());
        GenerationOptions options = GenerationOptions.greedy(newTokens).withStopTokenIds(-1);
        double[] rates = new double[runs];
        for (int r = 0; r < runs; r++) {
            long[] firstAndLast = new long[2];
            generator.generate(prompt, options, null, token -> {
                firstAndLast[token.index() == 0 ? 0 : 1] = System.nanoTime();
            });
            rates[r] = (newTokens - 1) / seconds(firstAndLast[1] - firstAndLast[0]);
        }
        return Medians.of(rates);
    }

    private static void report(PrintStream out, boolean json, Path dir, ModelDtype dtype, long params, int threads, int batch, int prompt,
                               int newTokens, int runs, double prefill, double decode, double generator,
                               long rssLoaded, long rssWarm, Memory memory) {
        if (json) {
            Map<String, Object> object = new LinkedHashMap<>();
            object.put("engine", "peftd");
            object.put("model", dir.toString());
            object.put("dtype", dtype.externalName());
            object.put("linear_params", params);
            object.put("threads", threads);
            object.put("batch", batch);
            object.put("prompt_tokens", prompt);
            object.put("new_tokens", newTokens);
            object.put("runs", runs);
            object.put("prefill_tokens_per_s", prefill);
            object.put("decode_tokens_per_s", decode);
            object.put("generator_decode_tokens_per_s", generator);
            object.put("rss_mb_loaded", rssLoaded);
            object.put("rss_mb_warm", rssWarm);
            object.put("rss_mb_after_runs", memory.rssMb());
            // generate_bench.sh reads it next to transformers' VmHWM: the load included
            object.put("rss_mb_peak", Math.round(ProcessStats.peakRssMb()));
            object.put("live_ndarrays_after_runs", memory.liveArrays());
            out.println(new Gson().toJson(object));
            return;
        }
        out.printf(Locale.ROOT, "peftd bench generate  model=%s  dtype=%s  linear params=%.1fM  threads=%d  batch=%d  prompt=%d"
                + "  new=%d  runs=%d (medians)%n", dir, dtype, params / 1e6, threads, batch, prompt, newTokens, runs);
        out.printf(Locale.ROOT, "prefill %10.1f tokens/s%n", prefill);
        out.printf(Locale.ROOT, "decode  %10.1f tokens/s%n", decode);
        out.printf(Locale.ROOT, "decode  %10.1f tokens/s through Generator (batch 1: logits to Java, argmax, detokenize off)%n",
                generator);
        out.printf(Locale.ROOT, "rss MB: loaded %d, after warm-up %d, after each run %s, peak %d; live NDArrays after "
                + "each run %s%n", rssLoaded, rssWarm, memory.rssMb(), Math.round(ProcessStats.peakRssMb()),
                memory.liveArrays());
    }

    /** Resident memory and live native arrays after each timed run: both must stay flat. */
    private record Memory(List<Long> rssMb, List<Integer> liveArrays) {
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /** Resident set size of this process in whole MiB (Linux), -1 elsewhere. */
    private static long rssMegabytes() {
        double mb = ProcessStats.rssMb();
        return Double.isNaN(mb) ? -1 : (long) mb;
    }
}
