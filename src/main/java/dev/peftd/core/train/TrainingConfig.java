package dev.peftd.core.train;

import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.train.optim.AdamW;
import dev.peftd.core.train.optim.LrSchedule;

/**
 * How to train, independent of the adapter method (LoRA+'s parameter groups come from its
 * {@code LoraPlusConfig}, which the run reads through its adapter). Built from named settings by
 * {@link MethodSettings}; refusals name the setting as the API does. Defaults follow the HF
 * Trainer where it has one (AdamW β=(0.9, 0.999), eps 1e-8, linear schedule, max_grad_norm 1.0). LoRA-FA's gradient
 * projection is the adapter's choice ({@code TrainableTensor.frozenA}), not a training setting.
 *
 * @param steps                  optimizer steps; 0 means "derive from {@code epochs}"
 * @param epochs                 passes over the training data when {@code steps == 0}
 * @param batchSize              sequences per micro-batch
 * @param gradAccum              micro-batches per optimizer step
 * @param maxGradNorm            clip the global gradient norm to this; 0 disables clipping
 * @param shuffle                draw a fresh seeded permutation of the training set every epoch (HF Trainer
 *                               behaviour); false keeps file order, for reproducing a given batch sequence
 * @param evalEvery              evaluate every this many steps (0: only before and after training)
 * @param checkpointEvery        write a checkpoint every this many steps (0: never)
 * @param evalSamples            validation examples in the fixed sample each {@code evalEvery} evaluation scores (a
 *                               seeded draw, the same at every evaluation); 0, or a validation set no larger, means
 *                               the whole set
 * @param earlyStoppingPatience  stop after this many {@code evalEvery} evaluations in a row without a lower validation
 *                               loss than the best so far (0: never stop early)
 * @param keepBest               end with the adapter of the evaluation with the lowest validation loss, not the last
 *                               step's
 */
public record TrainingConfig(double lr, double weightDecay, AdamW.Betas betas, LrSchedule.Kind schedule, int warmupSteps,
                             int steps, double epochs, int batchSize, int gradAccum, double maxGradNorm, long seed,
                             boolean shuffle, int evalEvery,
                             int checkpointEvery, int evalSamples, int earlyStoppingPatience, boolean keepBest) {

    public TrainingConfig {
        positive("learning_rate", lr);
        nonNegative("weight_decay", weightDecay);
        nonNegative("max_grad_norm", maxGradNorm);
        if (warmupSteps < 0) {
            throw new InvalidSettingException("warmup_steps", "must be >= 0, got " + warmupSteps);
        }
        if (steps < 0 || (steps == 0 && !(epochs > 0))) {
            throw new InvalidSettingException("max_steps", "give max_steps >= 1 or n_epochs > 0 (max_steps " + steps
                    + ", n_epochs " + epochs + ")");
        }
        if (batchSize < 1) {
            throw new InvalidSettingException("batch_size", "must be >= 1, got " + batchSize);
        }
        if (gradAccum < 1) {
            throw new InvalidSettingException("gradient_accumulation_steps", "must be >= 1, got " + gradAccum);
        }
        if (evalEvery < 0) {
            throw new InvalidSettingException("eval_every", "must be >= 0, got " + evalEvery);
        }
        if (checkpointEvery < 0) {
            throw new InvalidSettingException("checkpoint_every", "must be >= 0, got " + checkpointEvery);
        }
        if (evalSamples < 0) {
            throw new InvalidSettingException("eval_samples", "must be >= 0, got " + evalSamples);
        }
        if (earlyStoppingPatience < 0) {
            throw new InvalidSettingException("early_stopping_patience", "must be >= 0, got " + earlyStoppingPatience);
        }
        if (earlyStoppingPatience > 0 && evalEvery == 0) {
            throw new InvalidSettingException("early_stopping_patience", "counts evaluations without improvement, so"
                    + " it needs eval_every >= 1 (and a validation file)");
        }
        if (keepBest && evalEvery == 0) {
            throw new InvalidSettingException("keep_best", "keeps the adapter of the best evaluation, so it needs"
                    + " eval_every >= 1 (and a validation file)");
        }
    }

    /** Whether the run evaluates on the validation sample during training (which then needs validation data). */
    public boolean evaluatesDuringTraining() {
        return evalEvery > 0;
    }

    private static void positive(String field, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new InvalidSettingException(field, "must be a finite number > 0, got " + v);
        }
    }

    private static void nonNegative(String field, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new InvalidSettingException(field, "must be a finite number >= 0, got " + v);
        }
    }

    /** Optimizer steps for a training set of {@code trainExamples} sequences. */
    public int totalStepsFor(int trainExamples) {
        return totalSteps((trainExamples + batchSize - 1) / batchSize);
    }

    /** Optimizer steps for a training set cut into {@code batchesPerEpoch} micro-batches. */
    public int totalSteps(int batchesPerEpoch) {
        if (steps > 0) {
            return steps;
        }
        // HF Trainer: update steps per epoch = micro-batches // accumulation (at least one).
        int perEpoch = Math.max(1, batchesPerEpoch / gradAccum);
        return Math.max(1, (int) Math.ceil(epochs * perEpoch));
    }

    /** The settings under HF Trainer-like names, for metadata files. */
    public java.util.Map<String, Object> asMap() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("learning_rate", lr);
        m.put("weight_decay", weightDecay);
        m.put("adam_beta1", betas.beta1());
        m.put("adam_beta2", betas.beta2());
        m.put("adam_epsilon", betas.eps());
        m.put("lr_scheduler_type", schedule.name().toLowerCase(java.util.Locale.ROOT));
        m.put("warmup_steps", warmupSteps);
        m.put("max_steps", steps);
        m.put("num_train_epochs", epochs);
        m.put("per_device_train_batch_size", batchSize);
        m.put("gradient_accumulation_steps", gradAccum);
        m.put("max_grad_norm", maxGradNorm);
        m.put("seed", seed);
        m.put("shuffle", shuffle);
        m.put("eval_steps", evalEvery);
        m.put("eval_samples", evalSamples);
        m.put("early_stopping_patience", earlyStoppingPatience);
        m.put("load_best_model_at_end", keepBest);
        return m;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts from the defaults; every setter names the field it validates. */
    public static final class Builder {
        private double lr = 2e-4;
        private double weightDecay = 0.0;
        private AdamW.Betas betas = AdamW.Betas.TORCH_DEFAULT;
        private LrSchedule.Kind schedule = LrSchedule.Kind.LINEAR;
        private int warmupSteps = 0;
        private int steps = 0;
        private double epochs = 1;
        private int batchSize = 4;
        private int gradAccum = 1;
        private double maxGradNorm = 1.0;
        private long seed = 42;
        private boolean shuffle = true;
        private int evalEvery = 0;
        private int checkpointEvery = 0;
        private int evalSamples = 0;
        private int earlyStoppingPatience = 0;
        private boolean keepBest = false;

        public Builder lr(double v) { lr = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder betas(AdamW.Betas v) { betas = v; return this; }
        public Builder schedule(LrSchedule.Kind v) { schedule = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder epochs(double v) { epochs = v; steps = 0; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder shuffle(boolean v) { shuffle = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder evalSamples(int v) { evalSamples = v; return this; }
        public Builder earlyStoppingPatience(int v) { earlyStoppingPatience = v; return this; }
        public Builder keepBest(boolean v) { keepBest = v; return this; }

        public TrainingConfig build() {
            return new TrainingConfig(lr, weightDecay, betas, schedule, warmupSteps, steps, epochs, batchSize,
                    gradAccum, maxGradNorm, seed, shuffle, evalEvery,
                    checkpointEvery, evalSamples, earlyStoppingPatience, keepBest);
        }
    }
}
