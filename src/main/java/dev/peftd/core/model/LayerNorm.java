package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** LayerNorm over the last axis with scale and shift (torch's native {@code layer_norm}). */
public final class LayerNorm {

    private final NDArray weight;
    private final NDArray bias;
    private final float eps;

    /** @param weight {@code [hidden]}, @param bias {@code [hidden]} */
    public LayerNorm(NDArray weight, NDArray bias, double eps) {
        this.weight = weight;
        this.bias = bias;
        this.eps = (float) eps;
    }

    /** @param x {@code [..., hidden]} → same shape */
    public NDArray forward(NDArray x) {
        return x.getNDArrayInternal().layerNorm(x, new Shape(weight.getShape().get(0)), weight, bias, eps).singletonOrThrow();
    }
}
