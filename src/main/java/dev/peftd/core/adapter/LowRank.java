package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;

/**
 * A weight change in factored form, {@code ΔW = left·right}. Every method's ΔW has this form with a small inner
 * dimension k (LoRA: k = r; Delta-LoRA deployed: k = 2r), which is what makes the exact exports and the cheap SVD of
 * the analysis possible. The arrays are fresh: the receiver closes them.
 *
 * @param left  float32 {@code [out, k]}
 * @param right float32 {@code [k, in]}
 */
public record LowRank(NDArray left, NDArray right) implements AutoCloseable {

    /** {@code left·right}, float32 {@code [out, in]} (a new array in {@code left}'s manager). */
    public NDArray product() {
        return left.matMul(right);
    }

    public long innerDim() {
        return right.getShape().get(0);
    }

    @Override
    public void close() {
        left.close();
        right.close();
    }
}
