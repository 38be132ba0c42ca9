package dev.peftd.core.adapter;

import java.util.Map;

/**
 * Delta-LoRA: LoRA without dropout whose base weight also follows {@code W += λ·s·(B'A' − BA)} after every optimizer
 * step past the start step {@code K} (the paper's {@code t > K}, steps counted from 0).
 *
 * @param lora      the LoRA part; its dropout must be 0
 * @param lambda    update ratio λ (default 2)
 * @param startStep K (default 500); −1 starts before the first step
 */
public record DeltaLoraConfig(LoraConfig lora, double lambda, int startStep) implements AdapterConfig {

    public static final double DEFAULT_LAMBDA = 2;
    public static final int DEFAULT_START_STEP = 500;

    public DeltaLoraConfig {
        if (lora == null) {
            throw new AdapterConfigException("lora", "Delta-LoRA needs the LoRA settings (r, lora_alpha, target_modules)");
        }
        if (lora.dropout() != 0) {
            throw new AdapterConfigException("lora_dropout", "Delta-LoRA has no dropout on the low-rank branch "
                    + "(it would break ∂L/∂(BA) = ∂L/∂W); got " + lora.dropout());
        }
        if (!Double.isFinite(lambda) || lambda < 0) {
            throw new AdapterConfigException("delta_lambda", "must be a finite number ≥ 0, got " + lambda);
        }
        if (startStep < -1) {
            throw new AdapterConfigException("delta_start_step", "must be ≥ -1, got " + startStep);
        }
    }

    /**
     * The start step to use for a run of {@code totalSteps} optimizer steps. A K at or past the end would never move
     * W, so it is clamped to the middle of the run (the base weight then follows the second half).
     */
    public int startStepFor(int totalSteps) {
        if (totalSteps <= 0) {
            throw new AdapterConfigException("steps", "must be ≥ 1, got " + totalSteps);
        }
        return startStep < totalSteps - 1 ? startStep : Math.max(-1, totalSteps / 2 - 1);
    }

    /** This config with the start step clamped to a run of {@code totalSteps} (see {@link #startStepFor}). */
    public DeltaLoraConfig clampedTo(int totalSteps) {
        return new DeltaLoraConfig(lora, lambda, startStepFor(totalSteps));
    }

    @Override
    public DeltaLoraConfig forRunOf(int totalSteps) {
        return clampedTo(totalSteps);
    }

    @Override
    public Method method() {
        return Method.DELTA_LORA;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = lora.hyperparameters();
        h.put("delta_lambda", lambda);
        h.put("delta_start_step", startStep);
        return h;
    }
}
