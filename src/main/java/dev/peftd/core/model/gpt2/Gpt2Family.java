package dev.peftd.core.model.gpt2;

import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.CheckpointTensors;
import dev.peftd.core.model.ConfigJson;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelFamily;
import dev.peftd.core.model.ModelLoadException;
import java.io.IOException;
import java.util.Set;

/** {@code GPT2LMHeadModel}: config keys in GPT-2's own dialect ({@code n_embd}, {@code n_head}, …). */
public final class Gpt2Family implements ModelFamily {

    static final Set<String> ACTIVATIONS = Set.of("gelu_new", "gelu_pytorch_tanh", "gelu");

    @Override
    public ModelConfig readConfig(String architecture, ConfigJson json) throws ModelLoadException {
        int hidden = json.requireDimension("n_embd");
        int heads = json.requireDimension("n_head");
        if (hidden % heads != 0) {
            throw json.error("n_head", heads + " does not divide n_embd " + hidden);
        }
        if (json.booleanOr("scale_attn_by_inverse_layer_idx", false)) {
            throw json.error("scale_attn_by_inverse_layer_idx", "true is not supported");
        }
        if (!json.booleanOr("scale_attn_weights", true)) {
            throw json.error("scale_attn_weights", "false is not supported");
        }
        String activation = json.stringOr("activation_function", "gelu_new");
        if (!ACTIVATIONS.contains(activation)) {
            throw json.error("activation_function", "'" + activation + "' is not supported (supported: " + ACTIVATIONS + ")");
        }
        int positions = json.has("n_positions") ? json.positionsOr("n_positions", 0) : json.positionsOr("n_ctx", 1024);
        return new ModelConfig(architecture,
                json.requireDimension("vocab_size"),
                hidden,
                json.dimensionOr("n_inner", 4 * hidden),
                json.requireDimension("n_layer"),
                heads,
                heads,
                hidden / heads,
                positions,
                json.positiveDoubleOr("layer_norm_epsilon", 1e-5),
                json.booleanOr("tie_word_embeddings", true),
                json.intOr("bos_token_id", -1),
                json.idsOrEmpty("eos_token_id"),
                null,
                true,
                true,
                true,
                activation,
                0);
    }

    @Override
    public CausalLm load(ModelConfig config, CheckpointTensors tensors) throws IOException {
        return Gpt2Model.load(config, tensors);
    }
}
