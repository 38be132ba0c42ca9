package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * What one forward call's layers need from a KV cache: where each row's tokens sit ({@link RowPositions}: rotary
 * tables, learned position ids, the attention mask) and where to keep the new keys and values. A sequence batch's
 * {@link DecoderKvCache} (every row at the same position) and a step of the {@link PagedKvCache} (each row at its
 * own position, in its own blocks) both are one.
 */
public interface ForwardKv {

    /**
     * Where the rows of a call with {@code batch} rows of {@code length} tokens sit; checks, before any layer runs,
     * that the call fits this cache.
     */
    RowPositions positions(long batch, int length);

    /**
     * Keeps this call's keys and values for {@code layer}.
     *
     * @param k {@code [B, kvHeads, T, headDim]}
     * @param v {@code [B, kvHeads, T, headDim]}
     * @return the keys and values the call attends to, {@code [B, kvHeads, S, headDim]} each, S =
     *         {@link RowPositions#end()}
     */
    NDList append(int layer, NDArray k, NDArray v);

    /**
     * Keeps this call's keys and values for {@code layer} and attends to all of them: {@link #append}, then
     * {@link CausalAttention#attend}; a cache may do both at once.
     *
     * @param q {@code [B, heads, T, headDim]}
     * @param k {@code [B, kvHeads, T, headDim]}, as {@code v}
     * @return {@code [B, T, heads·headDim]}
     */
    default NDArray attend(int layer, NDArray q, NDArray k, NDArray v, NDArray scale, NDArray mask,
            Precision precision) {
        NDList all = append(layer, k, v); // [B, kvHeads, S, headDim] each
        return CausalAttention.attend(q, all.get(0), all.get(1), scale, mask, precision);
    }

    /** Records that the call which appended to every layer covered {@code count} more positions. */
    void advance(int count);
}
