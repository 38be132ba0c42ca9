package dev.peftd.core.model;

/**
 * The architecture facts the runtime needs, mapped from config.json (transformers 4.x and 5.x key names are both
 * mapped by the family that owns the architecture; nothing else reads config.json).
 *
 * @param architecture          HF class name, e.g. {@code LlamaForCausalLM}
 * @param intermediateSize      MLP inner width
 * @param headDim               per-head size (hidden / heads unless config.json says otherwise)
 * @param maxPositionEmbeddings for learned positions (GPT-2) a hard limit; for RoPE models only what the model was trained on
 * @param normEps               epsilon of RMSNorm or LayerNorm
 * @param tieWordEmbeddings     the output head reuses the input embedding matrix
 * @param bosTokenId            -1 when absent
 * @param eosTokenIds           empty when absent (Llama 3 configs list several)
 * @param rope                  rotary position parameters, {@code null} for models with learned positions (GPT-2)
 * @param attentionBias         q/k/v projections have a bias (Qwen2, GPT-2, Llama with {@code attention_bias})
 * @param outputBias            the attention output projection has a bias (GPT-2, Llama with {@code attention_bias})
 * @param mlpBias               the MLP projections have biases (GPT-2, Llama with {@code mlp_bias})
 * @param activation            the MLP activation as config.json names it ({@code silu}, {@code gelu_new}, …)
 * @param slidingWindow         attention window, 0 when attention is global; peftd refuses sequences longer than it
 */
public record ModelConfig(
        String architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositionEmbeddings,
        double normEps,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int[] eosTokenIds,
        RopeParameters rope,
        boolean attentionBias,
        boolean outputBias,
        boolean mlpBias,
        String activation,
        int slidingWindow) {
}
