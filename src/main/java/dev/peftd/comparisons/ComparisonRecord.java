package dev.peftd.comparisons;

import java.time.Instant;

/**
 * One row of {@code fine_tuning_comparisons}: what was asked. Its state is its children's, read with it.
 *
 * @param trainingFile   the file as the user named it (with a validation fraction the children train on the part of
 *                       it that was not held out)
 * @param validationFile the file the children are evaluated on: the one given, or the held-out part of the training
 *                       file when {@code validationFraction} was given
 * @param planJson       the checked plan as JSON: methods, budget, overrides, seeds, seed
 */
record ComparisonRecord(String id, String tenant, String model, String trainingFile, String validationFile,
                        Double validationFraction, String planJson, Instant createdAt) {
}
