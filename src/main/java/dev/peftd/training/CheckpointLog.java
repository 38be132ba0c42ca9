package dev.peftd.training;

import java.time.Instant;
import java.util.List;

/**
 * The job's list of saved checkpoints, which the API lists and serves and a resumed run starts from. The job feature
 * keeps it and implements this; training records what it saved and prunes what retention lets go.
 */
public interface CheckpointLog {

    /**
     * A listed checkpoint, as retention weighs it.
     *
     * @param validLoss the validation-sample loss of an evaluation at the checkpoint's step, or {@code null}
     */
    record Saved(int stepNumber, Double trainLoss, Double validLoss, String storageKey) {
    }

    /** Lists a checkpoint; a second save of the same step (a resumed run) replaces the first. */
    void record(String jobId, int step, Double trainLoss, Double validLoss, String storageKey, Instant at);

    /** Every checkpoint of the job, newest first. */
    List<Saved> saved(String jobId);

    /** Unlists a checkpoint: it is no longer listed, served or resumed from. */
    void delete(String jobId, int step);
}
