package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;

/** LayerNorm over the last axis with scale and shift (torch's native {@code layer_norm}). */
public final class LayerNorm {

    private final NDArray weight;
    private final NDArray bias;
    private final HalfTensor halfWeight;
    private final HalfTensor halfBias;
    private final float eps;
    private final NDArray epsScalar;

    /** @param weight {@code [hidden]}, @param bias {@code [hidden]} */
    public LayerNorm(NDArray weight, NDArray bias, double eps) {
        this.weight = weight;
        this.bias = bias;
        this.halfWeight = null;
        this.halfBias = null;
        this.eps = (float) eps;
        this.epsScalar = null;
    }

    /**
     * In a half model: {@code nn.LayerNorm} on the half type, as transformers runs it (libtorch computes the
     * statistics in float32 inside and rounds the output once).
     *
     * @param weight {@code [hidden]}, @param bias {@code [hidden]}
     * @param eps    0-d float32 scalar (a cached constant: djl-notes.md pitfall 1)
     */
    public LayerNorm(HalfTensor weight, HalfTensor bias, NDArray eps) {
        this.weight = null;
        this.bias = null;
        this.halfWeight = weight;
        this.halfBias = bias;
        this.eps = 0;
        this.epsScalar = eps;
    }

    /** @param x {@code [..., hidden]} → same shape */
    public NDArray forward(NDArray x) {
        if (halfWeight != null) {
            return HalfOps.layerNorm(x, halfWeight, halfBias, epsScalar);
        }
        return x.getNDArrayInternal().layerNorm(x, new Shape(weight.getShape().get(0)), weight, bias, eps).singletonOrThrow();
    }
}
