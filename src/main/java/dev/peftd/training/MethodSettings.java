package dev.peftd.training;

import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.train.TrainingConfig;

/**
 * Reads the method settings a job stored ({@link dev.peftd.queue.JobSpec#method()}) into what the training core runs.
 * The job feature owns that format and implements this; training only runs what it is given.
 */
public interface MethodSettings {

    /**
     * @throws dev.peftd.core.adapter.AdapterConfigException or {@link IllegalArgumentException} when the stored
     *                                                       settings no longer make a valid configuration
     */
    RunSettings read(String storedMethod, long seed);

    /**
     * @param method       the method's API name, for messages
     * @param maxSeqLength longest tokenized example kept (the model's context caps it further)
     * @param dtype        the type the base is loaded in for the run
     */
    record RunSettings(String method, AdapterConfig adapter, TrainingConfig training, int maxSeqLength,
                       ModelDtype dtype) {
    }
}
