package dev.peftd.core.adapter.vera;

import ai.djl.ndarray.NDArray;
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

    @Override
    public LowRank delta() {
        try (NDArray bCol = lambdaB.expandDims(1); NDArray dCol = lambdaD.expandDims(1)) {
            return new LowRank(sliceB.mul(bCol), sliceA.mul(dCol)); // diag(b)·B_s [out, r], diag(d)·A_s [r, in]
        }
    }
}
