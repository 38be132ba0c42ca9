package dev.peftd.core.adapter.vera;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.nn.norm.Dropout;
import dev.peftd.core.adapter.AdaptedLayer;
import dev.peftd.core.adapter.LowRank;

/**
 * One VeRA-wrapped linear layer, PEFT's {@code vera.Linear.forward}:
 * {@code y = base(x) + b ⊙ ((d ⊙ (dropout(x)·A_sᵀ))·B_sᵀ)} with {@code A_s = vera_A[:, :in]},
 * {@code B_s = vera_B[:out, :]}.
 */
final class VeraLayer implements AdaptedLayer {

    private final String module;
    private final NDArray lambdaB;  // [out], trainable
    private final NDArray lambdaD;  // [r], trainable
    private final NDArray sliceA;   // [r, in], frozen
    private final NDArray sliceB;   // [out, r], frozen
    private final float dropout;
    private final SharedProjection shared;

    VeraLayer(String module, NDArray lambdaB, NDArray lambdaD, NDArray sliceA, NDArray sliceB, double dropout,
              SharedProjection shared) {
        this.module = module;
        this.lambdaB = lambdaB;
        this.lambdaD = lambdaD;
        this.sliceA = sliceA;
        this.sliceB = sliceB;
        this.dropout = (float) dropout;
        this.shared = shared;
    }

    @Override
    public String module() {
        return module;
    }

    NDArray lambdaB() {
        return lambdaB;
    }

    NDArray lambdaD() {
        return lambdaD;
    }

    @Override
    public NDArray deltaOutput(NDArray input, boolean training) {
        NDArray projected; // [..., r]
        if (dropout > 0 && training) {
            NDArray x = Dropout.dropout(input, dropout, true).singletonOrThrow();
            projected = ai.djl.nn.core.Linear.linear(x, sliceA).singletonOrThrow();
        } else {
            projected = shared.project(input, sliceA);
        }
        NDArray scaled = projected.mul(lambdaD);                                  // [..., r]
        NDArray up = ai.djl.nn.core.Linear.linear(scaled, sliceB).singletonOrThrow(); // [..., out]
        return up.mul(lambdaB);
    }

    boolean hasDropout() {
        return dropout > 0;
    }

    /** Shared {@code A_s}, {@code [r, in]} (frozen). */
    NDArray sliceA() {
        return sliceA;
    }

    /**
     * {@code W + diag(b)·B_s·diag(d)·A_s} from the current b and d, outside any graph.
     *
     * @param weight the frozen base weight {@code [out, in]}
     * @return {@code [out, in]}
     */
    NDArray mergedWeight(NDArray weight) {
        try (NDArray b = lambdaB.stopGradient(); NDArray d = lambdaD.stopGradient();
             NDArray bCol = b.expandDims(1); NDArray scaledB = sliceB.mul(bCol).muli(d); // [out, r]
             NDArray delta = scaledB.matMul(sliceA)) {                                     // [out, in]
            return weight.add(delta);
        }
    }

    /**
     * Adds the gradients of b and d for an output computed through {@link #mergedWeight}: with G the gradient of
     * that output and P = x·A_sᵀ, d(loss)/d(diag(b)·B_s·diag(d)) is {@code S = Gᵀ·P} ({@code [out, r]}), and autograd
     * takes it the rest of the way through the two elementwise products. Must run with grad mode on.
     *
     * @param outputGradient G, {@code [..., out]}
     * @param projected      P, {@code [..., r]}
     */
    void accumulateGradients(NDArray outputGradient, NDArray projected) {
        long out = lambdaB.getShape().get(0);
        long r = lambdaD.getShape().get(0);
        try (NDArray g = outputGradient.reshape(-1, out); NDArray p = projected.reshape(-1, r);
             NDArray gt = g.transpose(); NDArray s = gt.matMul(p);                             // [out, r]
             NDArray bCol = lambdaB.expandDims(1); NDArray m = sliceB.mul(bCol).mul(lambdaD)) {  // [out, r], in a graph
            JniUtils.backward((PtNDArray) m, (PtNDArray) s, false, false);
        }
    }

    @Override
    public LowRank delta() {
        try (NDArray bCol = lambdaB.expandDims(1); NDArray dCol = lambdaD.expandDims(1)) {
            return new LowRank(sliceB.mul(bCol), sliceA.mul(dCol)); // diag(b)·B_s [out, r], diag(d)·A_s [r, in]
        }
    }
}
