package dev.peftd.queue;

import java.util.Optional;

/**
 * What a run needs to know about the job it claimed, read in the claiming statement so that the runner never reads the
 * job feature's tables.
 *
 * @param method the method and hyperparameters as the job feature stored them (its canonical JSON); the job feature
 *               reads them back, the queue only carries them
 * @param comparison the comparison the job is a child of, if any (its meters carry it as a label)
 */
public record JobSpec(String model, String trainingFile, Optional<String> validationFile, Optional<String> suffix,
                      long seed, String method, Optional<String> comparison) {

    /** {@code ft:<base>:<suffix>:<job id>}; the suffix part is empty when none was given. */
    public static String fineTunedModelName(String model, String suffix, String jobId) {
        return "ft:" + model + ":" + (suffix == null ? "" : suffix) + ":" + jobId;
    }

    /** The name the job's adapter is served under once it succeeds. */
    public String fineTunedModelName(String jobId) {
        return fineTunedModelName(model, suffix.orElse(null), jobId);
    }
}
