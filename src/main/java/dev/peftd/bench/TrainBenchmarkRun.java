package dev.peftd.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LayerSegments;
import dev.peftd.core.train.StepReport;
import dev.peftd.core.train.TrainingConfig;
import dev.peftd.core.train.TrainingData;
import dev.peftd.core.train.TrainingListener;
import dev.peftd.core.train.TrainingRun;
import dev.peftd.core.train.data.TokenizedExample;
import dev.peftd.core.train.optim.LrSchedule;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.train.data.Batch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code bench train-one}: the peftd side of one benchmark row, run in its own JVM by {@link TrainBenchmark}: trains the
 * method on random full-length token batches (loss on every token, like {@code labels=input_ids}) and returns one JSON
 * object with the step times, tokens/s and the process's peak RSS.
 */
public final class TrainBenchmarkRun {

    public static final List<String> METHODS = List.of("lora", "lora_fa", "lora_plus", "vera", "delta_lora");
    private static final List<String> ALL_PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /**
     * @param method      one of {@link #METHODS}
     * @param activations measure the saved activations instead of training
     */
    public record Settings(String method, int steps, int batch, int seq, int r, int veraR, boolean activations) {
        public Settings {
            if (!METHODS.contains(method)) {
                throw new IllegalArgumentException("unknown method '" + method + "'; known: " + METHODS);
            }
        }
    }

    private TrainBenchmarkRun() {
    }

    public static JsonObject run(CausalLm model, Settings s) {
        String method = s.method();
        int steps = s.steps();
        int batch = s.batch();
        int seq = s.seq();
        List<TokenizedExample> data = randomBatches(model.config().vocabSize(), steps * batch, seq);
        AdapterConfig config = config(method, s.r(), s.veraR());
        if (s.activations()) {
            return activations(model, config, seq, batch, method);
        }
        TrainingConfig training = TrainingConfig.builder().lr(1e-4).schedule(LrSchedule.Kind.CONSTANT)
                .maxGradNorm(1.0).steps(steps).batchSize(batch).shuffle(false).build();
        List<StepReport> reports = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        try (AbstractAdapter adapter = Adapters.create(config, model.linears(), 0)) {
            double[] last = {ProcessStats.cpuSeconds()};
            TrainingListener listener = report -> {
                reports.add(report);
                double now = ProcessStats.cpuSeconds();
                cpu.add(now - last[0]);
                last[0] = now;
            };
            new TrainingRun(model, adapter, new TrainingData(data, List.of(), 0), training, listener, null).run();
        }
        double[] seconds = reports.stream().mapToDouble(step -> step.stepMillis() / 1000).toArray();
        double[] cpuSeconds = cpu.stream().mapToDouble(Double::doubleValue).toArray();
        double median = Medians.of(steady(seconds));
        JsonObject json = new JsonObject();
        json.addProperty("method", method);
        JsonArray times = new JsonArray();
        Arrays.stream(seconds).forEach(times::add);
        json.add("step_s", times);
        json.addProperty("median_step_s", median);
        JsonArray cpuTimes = new JsonArray();
        Arrays.stream(cpuSeconds).forEach(cpuTimes::add);
        json.add("cpu_s", cpuTimes);
        json.addProperty("median_cpu_s", Medians.of(steady(cpuSeconds)));
        json.addProperty("tokens_per_s", batch * seq / median);
        json.addProperty("peak_rss_mb", ProcessStats.peakRssMb());
        return json;
    }

    /**
     * Memory that autograd keeps for backward after the body's forward pass (the activations a method saves): the
     * resident-set growth across a second forward of one batch, the first having paged in weights and warmed the
     * allocator. Meaningful only when freed memory goes back to the system at once, which {@code bench train} arranges
     * with glibc's {@code MALLOC_MMAP_THRESHOLD_} for both stacks.
     */
    private static JsonObject activations(CausalLm model, AdapterConfig config, int seq, int batch, String method) {
        List<TokenizedExample> rows = randomBatches(model.config().vocabSize(), batch, seq);
        double grown;
        try (AbstractAdapter adapter = Adapters.create(config, model.linears(), 0);
             NDManager manager = NDManager.newBaseManager()) {
            Batch input = new Batch(rows, 0);
            adapter.setTraining(true);
            JniUtils.setGradMode(true); // training's forward: autograd records what backward would need
            try {
                try (NDScope warmUp = new NDScope();
                     LayerSegments body = model.segmentedHiddenStates(input.inputIds(manager), adapter)) {
                    body.hidden();
                }
                try (NDScope measured = new NDScope()) {
                    NDArray ids = input.inputIds(manager); // [B, T]
                    double before = ProcessStats.rssMb();
                    // the forward training runs: its graphs (and any adapter's kept arrays) hold the saved activations
                    try (LayerSegments body = model.segmentedHiddenStates(ids, adapter)) {
                        grown = ProcessStats.rssMb() - before;
                    }
                }
            } finally {
                JniUtils.setGradMode(false);
            }
        }
        JsonObject json = new JsonObject();
        json.addProperty("method", method);
        json.addProperty("activation_mb", grown);
        return json;
    }

    private static AdapterConfig config(String method, int r, int veraR) {
        TargetModules targets = TargetModules.names(ALL_PROJECTIONS);
        LoraConfig lora = new LoraConfig(r, 2.0 * r, 0.0, false, targets, null, null); // alpha = 2r, as the PEFT side
        return switch (method) {
            case "lora" -> lora;
            case "lora_fa" -> new LoraFaConfig(lora, true);
            case "lora_plus" -> new LoraPlusConfig(lora, 16);
            case "delta_lora" -> new DeltaLoraConfig(lora, DeltaLoraConfig.DEFAULT_LAMBDA, 0);
            default -> VeraConfig.of(veraR, targets);
        };
    }

    /** Full-length random sequences, all tokens trained, drawn from a fixed seed. */
    private static List<TokenizedExample> randomBatches(int vocab, int count, int seq) {
        SplittableRandom random = new SplittableRandom(1);
        List<TokenizedExample> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] ids = random.ints(seq, 0, vocab).toArray();
            boolean[] trained = new boolean[seq];
            Arrays.fill(trained, true);
            out.add(new TokenizedExample(ids, trained));
        }
        return out;
    }

    /** Without the first step, which pays one-time allocations and JIT warm-up (the PEFT side drops it too). */
    private static double[] steady(double[] values) {
        return values.length > 1 ? Arrays.copyOfRange(values, 1, values.length) : values;
    }
}
