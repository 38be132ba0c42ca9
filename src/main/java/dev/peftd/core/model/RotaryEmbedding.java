package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.OwnedArrays;

/**
 * Rotary position embedding in the "rotate half" layout transformers uses for Llama-style models.
 *
 * <p>The cos/sin tables are computed in Java for just the positions of each forward call rather than for
 * {@code max_position_embeddings} up front: a Llama 3 table would be 128 MB, a decode step needs one row.
 */
public final class RotaryEmbedding {

    private final float[] inverseFrequencies;
    private final int headDim;

    public RotaryEmbedding(RopeParameters rope, int headDim) {
        this.inverseFrequencies = rope.inverseFrequencies(headDim);
        this.headDim = headDim;
    }

    /** cos and sin, each float32 {@code [T, headDim]}, for positions {@code start … start+T-1}. */
    public record Tables(NDArray cos, NDArray sin) {
    }

    /** @param like any array on the device (and with the manager) the tables are for */
    public Tables tables(int start, int length, NDArray like) {
        float[] cos = new float[length * headDim];
        float[] sin = new float[length * headDim];
        fill(cos, sin, 0, start, length);
        Shape shape = new Shape(length, headDim);
        return new Tables(onDeviceOf(like, cos, shape), onDeviceOf(like, sin, shape));
    }

    /**
     * Tables for rows at different positions: row {@code r}'s token {@code t} at {@code starts[r] + t}.
     *
     * @return cos and sin, each float32 {@code [B, 1, T, headDim]} (broadcast over the heads of {@code [B, heads, T, headDim]})
     */
    public Tables tables(int[] starts, int length, NDArray like) {
        float[] cos = new float[starts.length * length * headDim];
        float[] sin = new float[starts.length * length * headDim];
        for (int r = 0; r < starts.length; r++) {
            fill(cos, sin, r * length, starts[r], length);
        }
        Shape shape = new Shape(starts.length, 1, length, headDim);
        return new Tables(onDeviceOf(like, cos, shape), onDeviceOf(like, sin, shape));
    }

    /** Writes the rows {@code firstRow …} of the tables for positions {@code start … start+length-1}. */
    private void fill(float[] cos, float[] sin, int firstRow, int start, int length) {
        int half = headDim / 2;
        for (int t = 0; t < length; t++) {
            float position = start + t;
            int row = (firstRow + t) * headDim;
            for (int i = 0; i < half; i++) {
                double angle = position * inverseFrequencies[i]; // a float32 product, as in transformers
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[row + i] = c;
                cos[row + half + i] = c;
                sin[row + i] = s;
                sin[row + half + i] = s;
            }
        }
    }

    /**
     * @param x {@code [B, heads, T, headDim]}
     * @return {@code x·cos + rotate_half(x)·sin}, same shape
     */
    public static NDArray apply(NDArray x, Tables tables) {
        return x.mul(tables.cos()).add(rotateHalf(x).mul(tables.sin()));
    }

    /** {@code [x1, x2] → [-x2, x1]} over the last axis. */
    private static NDArray rotateHalf(NDArray x) {
        int last = x.getShape().dimension() - 1; // split/concat reject negative axes (djl-notes.md pitfall 8)
        NDList halves = x.split(2, last);
        return NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), last);
    }

    /** Tensor-owned memory: autograd saves cos and sin for backward, after this call's scope has closed them. */
    static NDArray onDeviceOf(NDArray like, float[] data, Shape shape) {
        return OwnedArrays.of(like.getManager(), data, shape, like.getDevice());
    }
}
