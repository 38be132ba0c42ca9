package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfOps;
import java.util.Arrays;

/**
 * Scaled dot-product attention with a causal mask and grouped-query heads: {@code softmax(q·kᵀ·scale + mask)·v} in
 * float32, as transformers' eager attention computes it, or libtorch's fused kernel when no keys are cached.
 */
public final class CausalAttention {

    private CausalAttention() {
    }

    /**
     * @param q     {@code [B, heads, T, headDim]}
     * @param k     {@code [B, kvHeads, S, headDim]}, S = cached positions + T
     * @param v     {@code [B, kvHeads, S, headDim]}
     * @param scale 0-d float32 scalar {@code 1/sqrt(headDim)} (the fused kernel's own default, used when S = T)
     * @param mask  additive {@code [T, S]} mask from {@link #causalMask}, or {@code null} when T = 1
     * @return {@code [B, T, heads·headDim]}
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, NDArray scale, NDArray mask) {
        return attend(q, k, v, scale, mask, Precision.FLOAT32);
    }

    /**
     * The same in {@code precision}: in a half model, SDPA runs in the half type (transformers' default sdpa
     * attention) for a whole sequence and for a decode step; a chunk after cached keys is computed in float32 from
     * the half q/k/v and its output rounded once.
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, NDArray scale, NDArray mask, Precision precision) {
        Shape qShape = q.getShape();
        long batch = qShape.get(0);
        long heads = qShape.get(1);
        long length = qShape.get(2);
        long headDim = qShape.get(3);
        long kvHeads = k.getShape().get(1);
        long keys = k.getShape().get(2);
        long groups = heads / kvHeads;
        if (mask != null && keys == length) {
            // queries and keys both start at position 0: the mask is exactly SDPA's is_causal, so libtorch's flash
            // kernel can run it (faster, and it saves no [T, T] matrix for backward)
            NDArray context = precision.half() == null
                    ? FusedOps.causalAttention(q, repeatKv(k, groups), repeatKv(v, groups))
                    : HalfOps.causalAttention(q, repeatKv(k, groups), repeatKv(v, groups), precision.half()); // [B, heads, T, headDim]
            return mergeHeads(context); // [B, T, heads·headDim]
        }
        if (mask == null && precision.half() != null) { // one query: every cached key is visible, no mask needed
            return mergeHeads(HalfOps.attention(q, repeatKv(k, groups), repeatKv(v, groups), precision.half()));
        }
        // GQA without copying keys and values: the `groups` query heads that share a KV head (consecutive, as in
        // transformers' repeat_kv) are stacked along the query axis, so every dot product is the same as with
        // repeated keys while k and v are read in place.
        NDArray grouped = q.reshape(batch, kvHeads, groups * length, headDim); // [B, kvHeads, groups·T, headDim]
        NDArray scores = grouped.matMul(k.transpose(0, 1, 3, 2)).mul(scale); // [B, kvHeads, groups·T, S]
        if (mask != null) {
            scores = scores.reshape(batch, kvHeads, groups, length, keys).add(mask) // mask [T, S] broadcast
                    .reshape(batch, kvHeads, groups * length, keys);
        }
        NDArray context = precision.round(scores.softmax(3).matMul(v)); // [B, kvHeads, groups·T, headDim]
        return mergeHeads(context.reshape(batch, heads, length, headDim)); // [B, T, heads·headDim]
    }

    /** {@code [B, heads, T, headDim] → [B, T, heads·headDim]}: an attention's context as the output projection takes it. */
    static NDArray mergeHeads(NDArray context) {
        Shape s = context.getShape();
        return context.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }

    /** {@code [B, kvHeads, S, headDim] → [B, kvHeads·groups, S, headDim]}, each KV head repeated for its query group. */
    private static NDArray repeatKv(NDArray kv, long groups) {
        return groups == 1 ? kv : kv.repeat(1, groups); // repeat_interleave, as transformers' repeat_kv
    }

    /**
     * Query {@code t} (absolute position {@code past + t}) may see keys {@code 0 … past + t}.
     *
     * @return additive float32 {@code [T, past + T]} (0 or -inf), or {@code null} when T = 1 (nothing to hide)
     */
    public static NDArray causalMask(int past, int length, NDArray like) {
        if (length == 1) {
            return null;
        }
        int keys = past + length;
        float[] mask = new float[length * keys];
        for (int t = 0; t < length; t++) {
            Arrays.fill(mask, t * keys + past + t + 1, (t + 1) * keys, Float.NEGATIVE_INFINITY);
        }
        return RotaryEmbedding.onDeviceOf(like, mask, new Shape(length, keys));
    }
}
