package dev.peftd.core.model.llama;

import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.CheckpointTensors;
import dev.peftd.core.model.ConfigJson;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelFamily;
import dev.peftd.core.model.ModelLoadException;
import dev.peftd.core.model.RopeParameters;
import java.io.IOException;

/**
 * {@code LlamaForCausalLM} (Llama 2 and 3, SmolLM, TinyLlama) and {@code MistralForCausalLM}, whose forward pass is
 * Llama's (Mistral's sliding window is recorded and sequences longer than it are refused).
 */
public final class LlamaFamily implements ModelFamily {

    @Override
    public ModelConfig readConfig(String architecture, ConfigJson json) throws ModelLoadException {
        boolean mistral = architecture.equals("MistralForCausalLM");
        boolean attentionBias = !mistral && json.booleanOr("attention_bias", false);
        boolean mlpBias = !mistral && json.booleanOr("mlp_bias", false);
        int slidingWindow = mistral ? json.intOr("sliding_window", 0) : 0;
        return readLlamaStyle(architecture, json, attentionBias, attentionBias, mlpBias, slidingWindow);
    }

    /**
     * The config keys every Llama-style family shares (Qwen2 too); the families differ only in which projections
     * carry biases and in the sliding window.
     */
    public static ModelConfig readLlamaStyle(String architecture, ConfigJson json, boolean qkvBias, boolean outputBias,
            boolean mlpBias, int slidingWindow) throws ModelLoadException {
        int hidden = json.requireDimension("hidden_size");
        int heads = json.requireDimension("num_attention_heads");
        int kvHeads = json.dimensionOr("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw json.error("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        }
        if (!json.has("head_dim") && hidden % heads != 0) {
            throw json.error("num_attention_heads", heads + " does not divide hidden_size " + hidden);
        }
        int headDim = json.dimensionOr("head_dim", hidden / heads);
        if (headDim % 2 != 0) {
            throw json.error(json.has("head_dim") ? "head_dim" : "num_attention_heads",
                    "rotary embeddings need an even head size, got " + headDim);
        }
        String activation = json.stringOr("hidden_act", "silu");
        if (!activation.equals("silu")) {
            throw json.error("hidden_act", "'" + activation + "' is not supported for " + architecture + " (only silu)");
        }
        if (slidingWindow < 0) {
            throw json.error("sliding_window", "must not be negative, got " + slidingWindow);
        }
        return new ModelConfig(architecture,
                json.requireDimension("vocab_size"),
                hidden,
                json.requireDimension("intermediate_size"),
                json.requireDimension("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                json.positionsOr("max_position_embeddings", 2048),
                json.positiveDoubleOr("rms_norm_eps", 1e-6),
                json.booleanOr("tie_word_embeddings", false),
                json.intOr("bos_token_id", -1),
                json.idsOrEmpty("eos_token_id"),
                RopeParameters.read(json),
                qkvBias,
                outputBias,
                mlpBias,
                activation,
                slidingWindow);
    }

    @Override
    public CausalLm load(ModelConfig config, CheckpointTensors tensors) throws IOException {
        return LlamaModel.load(config, tensors);
    }
}
