package dev.peftd.core.train.optim;

/**
 * Learning-rate multiplier per optimizer step: linear warmup from 0, then cosine, linear or constant, with the exact
 * formulas of transformers' {@code get_cosine_schedule_with_warmup}, {@code get_linear_schedule_with_warmup} and
 * {@code get_constant_schedule_with_warmup} (LambdaLR, stepped after each optimizer step, so step 0 runs at
 * multiplier 0 when there is warmup, as the HF Trainer does).
 */
public record LrSchedule(Kind kind, int warmupSteps, int totalSteps) {

    public enum Kind {
        COSINE, LINEAR, CONSTANT;

        /** Parses {@code cosine|linear|constant}; the error names the accepted values. */
        public static Kind parse(String name) {
            for (Kind k : values()) {
                if (k.name().equalsIgnoreCase(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("schedule: '" + name + "' is not one of cosine, linear, constant");
        }
    }

    public LrSchedule {
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmup_steps: must be >= 0, got " + warmupSteps);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps: must be >= 1, got " + totalSteps);
        }
    }

    /** The factor applied to every group's base learning rate for the optimizer step with 0-based index {@code step}. */
    public double multiplier(int step) {
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        return switch (kind) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                // num_cycles = 0.5: half a cosine from 1 down to 0 over the decay phase.
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
        };
    }
}
