package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;

/** {@code x / sqrt(mean(x²) + eps) · w} over the last axis, as {@code LlamaRMSNorm} computes it in float32. */
public final class RmsNorm {

    private static final int[] LAST_AXIS = {-1};

    private final NDArray weight;
    private final HalfTensor halfWeight;
    private final NDArray eps;

    /**
     * @param weight float32 {@code [hidden]}
     * @param eps    0-d float32 scalar (a cached constant, never a Java number: djl-notes.md pitfall 1)
     */
    public RmsNorm(NDArray weight, NDArray eps) {
        this.weight = weight;
        this.halfWeight = null;
        this.eps = eps;
    }

    /** In a half model: {@code LlamaRMSNorm}'s float32 statistics, rounded to the weight's type, times the weight. */
    public RmsNorm(HalfTensor weight, NDArray eps) {
        this.weight = null;
        this.halfWeight = weight;
        this.eps = eps;
    }

    /** The half weight {@code [hidden]}, or {@code null} in float32. */
    public HalfTensor half() {
        return halfWeight;
    }

    /** @param x {@code [..., hidden]} → same shape */
    public NDArray forward(NDArray x) {
        if (halfWeight != null) {
            return HalfOps.rmsNorm(x, halfWeight, eps);
        }
        NDArray meanSquare = x.square().mean(LAST_AXIS, true); // [..., 1]
        return x.div(meanSquare.add(eps).sqrt()).mul(weight);
    }
}
