package dev.peftd.core.adapter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * VeRA: {@code ΔW = diag(b)·B_s·diag(d)·A_s}, with one frozen random pair {@code (vera_A, vera_B)} shared by all
 * targeted layers (sliced per layer) and trainable vectors {@code b} (zeros) and {@code d} ({@code d_initial}).
 *
 * @param r                 rank of the shared projections (PEFT default 256)
 * @param dInitial          initial value of every {@code d} (default 0.1)
 * @param projectionPrngKey seed of PEFT's MT19937 projection generator (default 0)
 * @param saveProjection    write {@code vera_A}/{@code vera_B} into the adapter file (default true)
 * @param dropout           {@code vera_dropout} on the branch input, in [0, 1)
 * @param targetModules     which linear layers to adapt
 */
public record VeraConfig(int r, double dInitial, long projectionPrngKey, boolean saveProjection, double dropout,
                         TargetModules targetModules) implements AdapterConfig {

    public static final int DEFAULT_R = 256;
    public static final double DEFAULT_D_INITIAL = 0.1;

    public VeraConfig {
        LoraConfig.requireRank("r", r);
        if (!Double.isFinite(dInitial)) {
            throw new AdapterConfigException("d_initial", "must be finite, got " + dInitial);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new AdapterConfigException("vera_dropout", "must be in [0, 1), got " + dropout);
        }
        if (targetModules == null) {
            throw new AdapterConfigException("target_modules", "is required");
        }
    }

    /** VeRA with PEFT's defaults except rank and targets. */
    public static VeraConfig of(int r, TargetModules targets) {
        return new VeraConfig(r, DEFAULT_D_INITIAL, 0, true, 0.0, targets);
    }

    @Override
    public Method method() {
        return Method.VERA;
    }

    @Override
    public LoraConfig lora() {
        return null;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("r", r);
        h.put("d_initial", dInitial);
        h.put("projection_prng_key", projectionPrngKey);
        h.put("save_projection", saveProjection);
        h.put("vera_dropout", dropout);
        h.put("target_modules", targetModules.toPeftJson());
        return h;
    }
}
