package dev.peftd.job;

import dev.peftd.queue.JobSpec;
import dev.peftd.queue.JobState;
import java.time.Instant;

/**
 * One row of {@code fine_tuning_jobs}, as the API and the worker read it.
 *
 * @param epochs the passes over the training data the run reaches (known once a run has read its data), else null
 */
public record JobRecord(
        String id,
        String tenant,
        String model,
        String trainingFile,
        String validationFile,
        String suffix,
        long seed,
        TrainingMethod method,
        String metadataJson,
        JobState status,
        String fineTunedModel,
        String errorCode,
        String errorMessage,
        String errorParam,
        Long trainedTokens,
        Integer totalSteps,
        Integer epochs,
        int stepsCompleted,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        int attempts,
        int maxAttempts,
        Integer checkpointStep,
        String adapterKey) {

    /** {@code ft:<base>:<suffix>:<job id>}; the suffix part is empty when none was given. */
    public String fineTunedModelName() {
        return JobSpec.fineTunedModelName(model, suffix, id);
    }
}
