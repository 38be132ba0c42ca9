package dev.peftd.worker;

import dev.peftd.queue.Claim;

/** Runs one claimed job to an {@link Outcome}; the worker writes the outcome to the queue. */
@FunctionalInterface
public interface JobHandler {

    Outcome run(Claim claim, RunControl control);

    /** How a run ended. */
    sealed interface Outcome {
        record Succeeded(String fineTunedModel, String adapterKey, long trainedTokens, int steps) implements Outcome {
        }

        /** @param code a stable machine-readable reason, e.g. {@code invalid_training_file}, {@code training_error} */
        record Failed(String code, String message) implements Outcome {
        }

        /** Stopped at a step boundary because of {@link RunControl#stop()}. */
        record Stopped(RunControl.Stop reason) implements Outcome {
        }
    }
}
