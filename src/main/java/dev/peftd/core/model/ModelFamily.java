package dev.peftd.core.model;

import java.io.IOException;

/** One model family: how its config.json keys map to a {@link ModelConfig}, and how its weights become a {@link CausalLm}. */
public interface ModelFamily {

    /** @param architecture the config's {@code architectures[0]}, one this family declared it supports */
    ModelConfig readConfig(String architecture, ConfigJson json) throws ModelLoadException;

    /**
     * Builds the model, in {@code tensors.precision()} (float32, bfloat16 or float16: every family holds all three);
     * on failure the caller closes the manager holding whatever was
     * loaded.
     */
    CausalLm load(ModelConfig config, CheckpointTensors tensors) throws IOException;
}
