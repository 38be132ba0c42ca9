package dev.peftd.cli;

import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.train.TrainingConfig;
import dev.peftd.core.train.optim.LrSchedule;
import java.nio.file.Path;
import dev.peftd.core.model.ModelDtype;
import java.util.Map;
import java.util.Set;

/**
 * The options of {@code train}, checked and turned into the adapter config and the training config. Method options
 * given for another method are refused rather than ignored, so a typo in the method cannot go unnoticed.
 */
record TrainOptions(String model, Path data, Method method, Path out, AdapterConfig adapter, TrainingConfig training,
                    int maxSeqLen, boolean packing, Path evalFile, double evalFraction, Path resume, boolean json,
                    ModelDtype dtype) {

    static final Set<String> VALUED = Set.of("model", "data", "method", "out", "r", "alpha", "target-modules", "lr",
            "steps", "epochs", "batch-size", "max-seq-len", "seed", "dropout", "vera-d-initial", "vera-seed",
            "delta-lambda", "delta-start-step", "loraplus-lr-ratio", "warmup-steps", "schedule", "weight-decay",
            "max-grad-norm", "grad-accum", "eval-file", "eval-fraction", "eval-every", "checkpoint-every", "resume", "dtype");
    static final Set<String> FLAGS = Set.of("use-rslora", "lora-fa-project-grad", "packing", "json");

    /** Options that only make sense for one method. */
    private static final Map<String, Method> METHOD_ONLY = Map.of(
            "lora-fa-project-grad", Method.LORA_FA,
            "vera-d-initial", Method.VERA,
            "vera-seed", Method.VERA,
            "delta-lambda", Method.DELTA_LORA,
            "delta-start-step", Method.DELTA_LORA,
            "loraplus-lr-ratio", Method.LORA_PLUS);

    static TrainOptions parse(String[] args) throws UsageException {
        CliOptions o = CliOptions.parse(args, VALUED, FLAGS);
        Method method;
        try {
            method = Method.fromId(o.required("method"));
        } catch (AdapterConfigException e) {
            throw new UsageException("--" + e.getMessage());
        }
        for (Map.Entry<String, Method> e : METHOD_ONLY.entrySet()) {
            if (o.has(e.getKey()) && method != e.getValue()) {
                throw new UsageException("--" + e.getKey() + " applies only to --method " + e.getValue().id());
            }
        }
        if (method == Method.VERA && (o.has("alpha") || o.has("use-rslora"))) {
            throw new UsageException("--alpha/--use-rslora do not apply to --method vera (VeRA has no scaling)");
        }
        if (method == Method.DELTA_LORA && o.number("dropout", 0) != 0) {
            throw new UsageException("--dropout must be 0 for --method delta_lora (its branch has no dropout)");
        }
        if (o.has("steps") && o.has("epochs")) {
            throw new UsageException("give either --steps or --epochs, not both");
        }
        if (o.has("eval-file") && o.has("eval-fraction")) {
            throw new UsageException("give either --eval-file or --eval-fraction, not both");
        }
        try {
            TrainingConfig.Builder t = TrainingConfig.builder()
                    .lr(o.number("lr", method == Method.VERA ? 2e-3 : 2e-4))
                    .weightDecay(o.number("weight-decay", 0.0))
                    .schedule(LrSchedule.Kind.parse(o.string("schedule", "linear")))
                    .warmupSteps(o.integer("warmup-steps", 0))
                    .batchSize(o.integer("batch-size", 4))
                    .gradAccum(o.integer("grad-accum", 1))
                    .maxGradNorm(o.number("max-grad-norm", 1.0))
                    .seed(o.longValue("seed", 42))
                    .evalEvery(o.integer("eval-every", 0))
                    .checkpointEvery(o.integer("checkpoint-every", 0))
                    .loraPlusRatio(method == Method.LORA_PLUS
                            ? o.number("loraplus-lr-ratio", LoraPlusConfig.DEFAULT_LR_RATIO) : 0);
            if (o.has("steps")) {
                t.steps(o.integer("steps", 0));
            } else {
                t.epochs(o.number("epochs", 1));
            }
            TrainingConfig training = t.build();
            AdapterConfig adapter = adapterConfig(method, o);
            int maxSeqLen = o.integer("max-seq-len", 512);
            if (maxSeqLen < 2) {
                throw new UsageException("--max-seq-len: must be >= 2, got " + maxSeqLen);
            }
            double evalFraction = o.number("eval-fraction", 0);
            if (o.has("eval-fraction") && !(evalFraction > 0 && evalFraction < 1)) {
                throw new UsageException("--eval-fraction: must lie strictly between 0 and 1, got " + evalFraction);
            }
            return new TrainOptions(o.required("model"), Path.of(o.required("data")), method,
                    Path.of(o.required("out")), adapter, training, maxSeqLen, o.flag("packing"),
                    o.has("eval-file") ? Path.of(o.string("eval-file", null)) : null, evalFraction,
                    o.has("resume") ? Path.of(o.string("resume", null)) : null, o.flag("json"),
                    ModelArgument.dtype(o));
        } catch (AdapterConfigException e) {
            throw new UsageException(e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage().replace('_', '-').replaceFirst("^", "--"));
        }
    }

    private static AdapterConfig adapterConfig(Method method, CliOptions o) throws UsageException {
        TargetModules targets = TargetModules.parse(o.string("target-modules", TargetModules.ALL_LINEAR));
        if (method == Method.VERA) {
            return new VeraConfig(o.integer("r", VeraConfig.DEFAULT_R), o.number("vera-d-initial", VeraConfig.DEFAULT_D_INITIAL),
                    o.longValue("vera-seed", 0), true, o.number("dropout", 0), targets);
        }
        LoraConfig lora = new LoraConfig(o.integer("r", LoraConfig.DEFAULT_R), o.number("alpha", LoraConfig.DEFAULT_ALPHA),
                o.number("dropout", 0), o.flag("use-rslora"), targets, null, null);
        return switch (method) {
            case LORA -> lora;
            case LORA_FA -> new LoraFaConfig(lora, o.flag("lora-fa-project-grad"));
            case LORA_PLUS -> new LoraPlusConfig(lora, o.number("loraplus-lr-ratio", LoraPlusConfig.DEFAULT_LR_RATIO));
            case DELTA_LORA -> new DeltaLoraConfig(lora, o.number("delta-lambda", DeltaLoraConfig.DEFAULT_LAMBDA),
                    o.integer("delta-start-step", DeltaLoraConfig.DEFAULT_START_STEP));
            case VERA -> throw new IllegalStateException("handled above");
        };
    }
}
