package dev.peftd.core.train;

import java.nio.file.Path;

/** Receives progress from a {@link TrainingRun}, on the training thread. */
public interface TrainingListener {

    void onStep(StepReport report);

    /** Validation loss (token mean) after {@code step} optimizer steps; step 0 is before training. */
    default void onEval(int step, double evalLoss) {
    }

    default void onCheckpoint(int step, Path directory) {
    }

    TrainingListener NONE = report -> { };
}
