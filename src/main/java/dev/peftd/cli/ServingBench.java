package dev.peftd.cli;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.Gson;
import dev.peftd.serving.AdapterCache;
import dev.peftd.serving.BaseModelPool;
import dev.peftd.serving.ServingBenchmark;
import dev.peftd.serving.ServingEngine;
import dev.peftd.serving.ServingMeters;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code bench serving --model DIR --adapter DIR [--threads N] [--prompt-tokens P] [--new-tokens N] [--runs R] [--json]}:
 * the serving engine's decode rates (base, unmerged adapter, merged) and adapter load/swap times
 * ({@link ServingBenchmark}); tools/bench/serving_bench.sh prints them beside transformers + PEFT.
 */
final class ServingBench implements Command {

    static final String HELP = """
            usage: bench serving --model DIR --adapter DIR [--threads N] [--prompt-tokens P] [--new-tokens N] [--runs R] [--json]
              The serving engine's decode tokens/s for the base model, the adapter unmerged and merged, and the
              adapter's load and swap times (defaults: all cores, 128 prompt tokens, 64 new tokens, 5 runs).""";

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapter", "threads", "prompt-tokens", "new-tokens", "runs"),
                Set.of("json"));
        int threads = o.integer("threads", Runtime.getRuntime().availableProcessors());
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        Path model = ModelArgument.directory(o.required("model"));
        Path adapter = ModelArgument.directory(o.required("adapter"));
        int promptTokens = o.integer("prompt-tokens", 128);
        int newTokens = o.integer("new-tokens", 64);
        int runs = o.integer("runs", 5);
        Engine.getInstance();
        JniUtils.setNumThreads(threads);
        ServingMeters meters = new ServingMeters(new SimpleMeterRegistry());
        try (ServingEngine engine = new ServingEngine(new BaseModelPool(Engine.getInstance().defaultDevice(), meters),
                new AdapterCache(Long.MAX_VALUE, meters), meters, 1)) {
            Path scratch = Files.createTempDirectory("peftd-serving-bench");
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("engine", "peftd");
            report.put("model", model.toString());
            report.put("threads", threads);
            report.put("prompt_tokens", promptTokens);
            report.put("new_tokens", newTokens);
            report.put("runs", runs);
            report.putAll(new ServingBenchmark(engine, promptTokens, newTokens, runs).run(model, adapter, scratch));
            if (o.flag("json")) {
                out.println(new Gson().toJson(report));
            } else {
                report.forEach((k, v) -> out.printf(Locale.ROOT, "%-34s %s%n", k,
                        v instanceof Double d ? String.format(Locale.ROOT, "%.2f", d) : v));
            }
            return 0;
        } catch (IOException e) {
            err.println("bench serving: " + e.getMessage());
            return 1;
        }
    }
}
