package dev.peftd.job;

import java.time.Instant;
import java.util.Optional;

/**
 * What creating a job decides. Everything else on the row starts empty or at zero and is written by the queue and the
 * worker as the job runs; the row starts {@code queued}.
 *
 * @param metadataJson the JSON object of the request's metadata pairs
 * @param group        the comparison the job is a child of, if any
 */
record NewJob(String id, String tenant, String model, Datasets datasets, Optional<String> suffix, long seed,
              TrainingMethod method, Optional<String> metadataJson, Instant createdAt, int maxAttempts,
              Optional<String> group) {

    /** The uploaded files the job reads. */
    record Datasets(String trainingFile, Optional<String> validationFile) {
    }
}
