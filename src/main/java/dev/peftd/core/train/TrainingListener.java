package dev.peftd.core.train;

import java.nio.file.Path;

/** Receives progress from a {@link TrainingRun}, on the training thread. */
public interface TrainingListener {

    /** After each step, and after its evaluation when one was due ({@link StepReport#validation()}). */
    void onStep(StepReport report);

    /**
     * A pass over the whole validation set after {@code step} optimizer steps: step 0 is before training, the last
     * is the final model (the best evaluation's adapter under {@code keep_best}).
     */
    default void onEval(int step, Evaluation full) {
    }

    default void onCheckpoint(int step, Path directory) {
    }

    TrainingListener NONE = report -> { };
}
