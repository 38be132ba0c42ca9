package dev.peftd.core.model;

/**
 * The architecture facts the runtime needs, mapped from config.json (transformers 4.x and 5.x key names are both
 * mapped in the loader; nothing else reads config.json).
 *
 * @param architecture        HF class name, e.g. {@code LlamaForCausalLM}
 * @param headDim             per-head size (hidden / heads unless config.json says otherwise)
 * @param tieWordEmbeddings   the output head reuses the input embedding matrix
 * @param bosTokenId          -1 when absent
 * @param eosTokenIds         empty when absent (Llama 3 configs list several)
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
        int[] eosTokenIds) {
}
