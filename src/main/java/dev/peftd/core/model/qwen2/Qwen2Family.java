package dev.peftd.core.model.qwen2;

import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.CheckpointTensors;
import dev.peftd.core.model.ConfigJson;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelFamily;
import dev.peftd.core.model.ModelLoadException;
import dev.peftd.core.model.llama.LlamaFamily;
import dev.peftd.core.model.llama.LlamaModel;
import java.io.IOException;

/**
 * {@code Qwen2ForCausalLM}: the Llama forward pass with biases on the q, k and v projections (and none on o_proj or
 * the MLP). Qwen2 configs have no {@code attention_bias} flag; the biases are part of the architecture.
 */
public final class Qwen2Family implements ModelFamily {

    @Override
    public ModelConfig readConfig(String architecture, ConfigJson json) throws ModelLoadException {
        int slidingWindow = json.booleanOr("use_sliding_window", false) ? json.intOr("sliding_window", 0) : 0;
        return LlamaFamily.readLlamaStyle(architecture, json, true, false, false, slidingWindow);
    }

    @Override
    public CausalLm load(ModelConfig config, CheckpointTensors tensors) throws IOException {
        return LlamaModel.load(config, tensors);
    }
}
