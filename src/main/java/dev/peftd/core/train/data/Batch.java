package dev.peftd.core.train.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * A padded micro-batch. Sequences are right-padded to the longest one; under causal attention padding after the
 * last real token cannot influence earlier positions, so no attention mask is needed, only zero loss weights.
 *
 * <p>Targets are already shifted: {@code targets[b, t]} is the token at {@code t+1} that position t must predict, so
 * the loss uses all T logit positions without slicing.
 */
public final class Batch {

    private final int rows;
    private final int length;
    private final long[] ids;
    private final long[] targets;
    private final float[] weights;
    private final int lossTokens;
    private final int realTokens;

    public Batch(List<TokenizedExample> examples, int padId) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one example");
        }
        rows = examples.size();
        length = examples.stream().mapToInt(TokenizedExample::length).max().orElseThrow();
        ids = new long[rows * length];
        targets = new long[rows * length];
        weights = new float[rows * length];
        java.util.Arrays.fill(ids, padId);
        int loss = 0;
        int real = 0;
        for (int b = 0; b < rows; b++) {
            TokenizedExample e = examples.get(b);
            real += e.length();
            for (int t = 0; t < e.length(); t++) {
                ids[b * length + t] = e.ids()[t];
                if (t + 1 < e.length() && e.trained()[t + 1]) {
                    targets[b * length + t] = e.ids()[t + 1];
                    weights[b * length + t] = 1f;
                    loss++;
                }
            }
        }
        lossTokens = loss;
        realTokens = real;
    }

    /** int64 {@code [B, T]}. */
    public NDArray inputIds(NDManager manager) {
        return manager.create(ids, new Shape(rows, length));
    }

    /** int64 {@code [B, T]}: the next token where it is a loss target, 0 elsewhere (weight 0 there). */
    public NDArray targets(NDManager manager) {
        return manager.create(targets, new Shape(rows, length));
    }

    /** float32 {@code [B, T]}: 1 where position t's prediction counts, else 0. */
    public NDArray weights(NDManager manager) {
        return manager.create(weights, new Shape(rows, length));
    }

    public int lossTokens() {
        return lossTokens;
    }

    /** Non-padding tokens, for tokens/s. */
    public int realTokens() {
        return realTokens;
    }

    public int rows() {
        return rows;
    }

    public int length() {
        return length;
    }
}
