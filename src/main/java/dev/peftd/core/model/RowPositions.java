package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.OwnedArrays;
import java.util.Arrays;

/**
 * The absolute positions of one forward call's tokens: row {@code r}'s token {@code t} sits at {@code start(r) + t}
 * and may see the keys at positions {@code 0 … start(r) + t} of its own row. When every row starts at the same
 * position (one sequence batch, or a prefill from position 0) the tables, ids and mask are the shared {@code [T, …]}
 * ones; otherwise (a batched decode step whose rows have different lengths) they are per row, {@code [B, …]}.
 */
public final class RowPositions {

    private final int[] starts;
    private final int length;
    private final boolean uniform;

    private RowPositions(int[] starts, int length) {
        this.starts = starts;
        this.length = length;
        this.uniform = Arrays.stream(starts).allMatch(s -> s == starts[0]);
    }

    /** {@code rows} rows that all start at {@code start}. */
    public static RowPositions uniform(int start, long rows, int length) {
        int[] starts = new int[(int) rows];
        Arrays.fill(starts, start);
        return new RowPositions(starts, length);
    }

    /** Row {@code r} starts at {@code starts[r]}. */
    public static RowPositions of(int[] starts, int length) {
        return new RowPositions(starts.clone(), length);
    }

    /** One past the last position any row reaches: the number of keys the call attends to. */
    public int end() {
        return Arrays.stream(starts).max().orElse(0) + length;
    }

    /** @return cos and sin, {@code [T, headDim]} when uniform, else {@code [B, 1, T, headDim]} (broadcast over heads) */
    public RotaryEmbedding.Tables rope(RotaryEmbedding rotary, NDArray like) {
        return uniform ? rotary.tables(starts[0], length, like) : rotary.tables(starts, length, like);
    }

    /**
     * @return int64 position ids, {@code [T]} when uniform, else {@code [B, T]}
     */
    public NDArray positionIds(NDArray like) {
        if (uniform) {
            long[] ids = new long[length];
            for (int t = 0; t < length; t++) {
                ids[t] = starts[0] + t;
            }
            return OwnedArrays.of(like.getManager(), ids, new Shape(length), like.getDevice());
        }
        long[] ids = new long[starts.length * length];
        for (int r = 0; r < starts.length; r++) {
            for (int t = 0; t < length; t++) {
                ids[r * length + t] = starts[r] + t;
            }
        }
        return OwnedArrays.of(like.getManager(), ids, new Shape(starts.length, length), like.getDevice());
    }

    /**
     * The additive attention mask (0 or -inf): {@link CausalAttention#causalMask} {@code [T, S]} (or {@code null}
     * for one token) when uniform, else {@code [B, 1, 1, T, S]}, S = {@link #end()}, hiding from row {@code r}'s
     * token {@code t} every key after {@code start(r) + t}: the other rows' longer histories and the slots not yet
     * written.
     */
    public NDArray mask(NDArray like) {
        if (uniform) {
            return CausalAttention.causalMask(starts[0], length, like);
        }
        int keys = end();
        float[] mask = new float[starts.length * length * keys];
        for (int r = 0; r < starts.length; r++) {
            for (int t = 0; t < length; t++) {
                int row = (r * length + t) * keys;
                Arrays.fill(mask, row + starts[r] + t + 1, row + keys, Float.NEGATIVE_INFINITY);
            }
        }
        return RotaryEmbedding.onDeviceOf(like, mask, new Shape(starts.length, 1, 1, length, keys));
    }
}
