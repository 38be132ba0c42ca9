package dev.peftd.job;

/** What a job trains: the adapter method and its resolved hyperparameters (stored as JSON on the job row). */
public record TrainingMethod(MethodType type, Hyperparameters hyperparameters) {
}
