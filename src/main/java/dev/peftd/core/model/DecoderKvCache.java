package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.HalfType;

/**
 * Per-layer keys and values {@code [B, kvHeads, S, headDim]} of a decoder-only model, held in the cache's own
 * sub-manager so that they outlive the forward call that made them and die with {@link #close()}.
 *
 * <p>Used by one sequence batch on one thread at a time. Appending concatenates, as transformers' DynamicCache does.
 * A half model's cache holds them in its half type, as transformers' does (they are half values already: nothing is
 * lost); a decode step attends to them as kept ({@link #attend}), any other call to a float32 copy of them.
 */
public final class DecoderKvCache implements KvCache, ForwardKv {

    private final CausalLm owner;
    private final NDManager manager;
    private final HalfType half; // the half type the keys and values are kept in, or null for float32
    private final NDArray[] keys;        // float32 [B, kvHeads, S, headDim] per layer
    private final NDArray[] values;
    private final HalfTensor[] halfKeys; // half [B, kvHeads, S, headDim] per layer (a half model's, instead)
    private final HalfTensor[] halfValues;
    private int length;
    private long batch = -1;

    /**
     * @param owner the model whose forward calls may use this cache (a cache fits no other model)
     * @param half  the type to keep keys and values in, the model's half type, or {@code null} for float32
     */
    public DecoderKvCache(CausalLm owner, NDManager parent, int numLayers, HalfType half) {
        this.owner = owner;
        this.manager = parent.newSubManager();
        this.half = half;
        this.keys = new NDArray[numLayers];
        this.values = new NDArray[numLayers];
        this.halfKeys = new HalfTensor[numLayers];
        this.halfValues = new HalfTensor[numLayers];
    }

    /** The cache a forward call of {@code model} was given, checked to come from that model's {@code newCache()}. */
    public static DecoderKvCache checked(KvCache cache, CausalLm model) {
        if (cache == null) {
            return null;
        }
        if (!(cache instanceof DecoderKvCache own) || own.owner != model) {
            throw new IllegalArgumentException("this KV cache was not made by this model's newCache()");
        }
        return own;
    }

    @Override
    public int length() {
        return length;
    }

    /** Every row continues at {@link #length()}; checks that a forward call continues the same batch of sequences. */
    @Override
    public RowPositions positions(long batchSize, int count) {
        requireBatch(batchSize);
        return RowPositions.uniform(length, batchSize, count);
    }

    private void requireBatch(long batchSize) {
        if (batch >= 0 && batch != batchSize) {
            throw new IllegalArgumentException("this KV cache holds a batch of " + batch
                    + " sequences; the input ids have " + batchSize);
        }
        batch = batchSize;
    }

    /**
     * Adds this call's keys and values for {@code layer}.
     *
     * @param k {@code [B, kvHeads, T, headDim]}
     * @param v {@code [B, kvHeads, T, headDim]}
     * @return all keys and values so far, {@code [B, kvHeads, length + T, headDim]} each (owned by the cache)
     */
    @Override
    public NDList append(int layer, NDArray k, NDArray v) {
        if (half != null) {
            return appendHalf(layer, k, v);
        }
        keys[layer] = keep(keys[layer], k);
        values[layer] = keep(values[layer], v);
        return new NDList(keys[layer], values[layer]);
    }

    /**
     * A half cache's decode step (one query per row, so no mask) runs {@link HalfOps#appendAndAttend}: the attention
     * reads the half keys and values as they are kept, where {@link #append} would widen the whole cache to float32
     * for {@link CausalAttention#attend} to round it back into the same half SDPA (whose default scale,
     * {@code 1/sqrt(headDim)}, both use). Every other call: the default.
     */
    @Override
    public NDArray attend(int layer, NDArray q, NDArray k, NDArray v, NDArray scale, NDArray mask,
            Precision precision) {
        if (half == null || mask != null || precision.half() != half) {
            return ForwardKv.super.attend(layer, q, k, v, scale, mask, precision);
        }
        HalfOps.Attended step = HalfOps.appendAndAttend(halfKeys[layer], halfValues[layer], q, k, v, half, manager);
        replace(layer, step.keys(), step.values());
        return CausalAttention.mergeHeads(step.context()); // [B, 1, heads·headDim]
    }

    private void replace(int layer, HalfTensor keys, HalfTensor values) {
        if (halfKeys[layer] != null) {
            halfKeys[layer].close();
            halfValues[layer].close();
        }
        halfKeys[layer] = keys;
        halfValues[layer] = values;
    }

    /** @return float32 copies of the half keys and values so far, {@code [B, kvHeads, length + T, headDim]} each */
    private NDList appendHalf(int layer, NDArray k, NDArray v) {
        HalfOps.Appended all = HalfOps.append(halfKeys[layer], halfValues[layer], k, v, half, manager);
        replace(layer, all.keys(), all.values());
        return new NDList(all.allKeys(), all.allValues());
    }

    /** Device bytes the cached keys and values hold now, over all layers. */
    public long bytes() {
        long total = 0;
        for (int layer = 0; layer < keys.length; layer++) {
            total += half == null ? (keys[layer] == null ? 0 : (keys[layer].size() + values[layer].size()) * Float.BYTES)
                    : (halfKeys[layer] == null ? 0 : halfKeys[layer].bytes() + halfValues[layer].bytes());
        }
        return total;
    }

    @Override
    public void advance(int count) {
        length += count;
    }

    private NDArray keep(NDArray previous, NDArray added) {
        NDArray all = previous == null ? added : NDArrays.concat(new NDList(previous, added), 2);
        NDScope.unregister(all); // survive the forward call's scope
        all.attach(manager);
        if (previous != null) {
            previous.close();
        }
        return all;
    }

    @Override
    public void close() {
        manager.close();
    }
}
