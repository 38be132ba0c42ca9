package dev.peftd.job;

import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.train.TrainingConfig;
import dev.peftd.core.train.optim.LrSchedule;
import dev.peftd.api.ApiProblem;
import java.util.List;

/**
 * Translates a job's {@link TrainingMethod} into the training core's configurations. Used at creation (so that what
 * the core would refuse is a 400 naming the field) and by the worker.
 */
public final class CoreConfigs {

    private CoreConfigs() {
    }

    public static AdapterConfig adapter(TrainingMethod method) {
        Hyperparameters hp = method.hyperparameters();
        TargetModules targets = targets(hp.targetModules());
        if (method.type() == MethodType.vera) {
            return new VeraConfig(hp.r(), hp.veraDInitial(), hp.projectionPrngKey(), true, hp.loraDropout(), targets);
        }
        LoraConfig lora = new LoraConfig(hp.r(), hp.loraAlpha(), hp.loraDropout(), Boolean.TRUE.equals(hp.useRslora()),
                targets, null, null);
        return switch (method.type()) {
            case lora -> lora;
            case lora_fa -> new LoraFaConfig(lora, Boolean.TRUE.equals(hp.loraFaProjectGrad()));
            case delta_lora -> new DeltaLoraConfig(lora, hp.deltaLambda(), hp.deltaStartStep());
            case lora_plus -> new LoraPlusConfig(lora, hp.loraplusLrRatio());
            case vera -> throw new IllegalStateException("handled above");
        };
    }

    /** LoRA-FA's gradient projection is the adapter's choice ({@link LoraFaConfig#projectGradient()}), not set here. */
    public static TrainingConfig training(TrainingMethod method, long seed) {
        Hyperparameters hp = method.hyperparameters();
        TrainingConfig.Builder builder = TrainingConfig.builder()
                .lr(hp.learningRate())
                .weightDecay(hp.weightDecay())
                .schedule(LrSchedule.Kind.parse(hp.lrScheduler()))
                .warmupSteps(hp.warmupSteps())
                .batchSize(hp.batchSize())
                .gradAccum(hp.gradientAccumulationSteps())
                .maxGradNorm(hp.maxGradNorm())
                .seed(seed)
                .loraPlusRatio(method.type() == MethodType.lora_plus ? hp.loraplusLrRatio() : 0)
                .checkpointEvery(hp.checkpointEvery());
        if (hp.maxSteps() != null) {
            builder.steps(hp.maxSteps());
        } else {
            builder.epochs(hp.nEpochs());
        }
        return builder.build();
    }

    /** Builds both configurations once, turning the core's refusals into a 400 on the hyperparameter. */
    static void check(TrainingMethod method, long seed) {
        String prefix = "method." + method.type().name() + ".hyperparameters.";
        try {
            adapter(method).targetModules().requireEvaluable();
            training(method, seed);
        } catch (AdapterConfigException e) {
            String message = e.getMessage();
            int colon = message.indexOf(": ");
            String field = colon > 0 ? message.substring(0, colon) : "method";
            throw ApiProblem.invalidField(prefix + field, colon > 0 ? message.substring(colon + 2) : message);
        } catch (IllegalArgumentException e) {
            throw ApiProblem.invalidField("method." + method.type().name() + ".hyperparameters", e.getMessage());
        }
    }

    private static TargetModules targets(Object targetModules) {
        if (targetModules instanceof String s) {
            return s.equals(TargetModules.ALL_LINEAR) ? TargetModules.allLinear() : TargetModules.regex(s);
        }
        @SuppressWarnings("unchecked")
        List<String> names = (List<String>) targetModules;
        return TargetModules.names(names);
    }
}
