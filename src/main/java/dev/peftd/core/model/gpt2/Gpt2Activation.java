package dev.peftd.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.ScalarConstants;

/**
 * GPT-2's MLP activation. {@code gelu_new} (and {@code gelu_pytorch_tanh}) is the tanh approximation
 * {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}, composed here because DJL's {@code gelu()} is the erf form.
 */
final class Gpt2Activation {

    private final boolean tanhApproximation;
    private final NDArray half;
    private final NDArray one;
    private final NDArray three;
    private final NDArray cubicCoefficient;
    private final NDArray sqrtTwoOverPi;

    Gpt2Activation(String name, ScalarConstants scalars) {
        this.tanhApproximation = !name.equals("gelu");
        this.half = scalars.of(0.5);
        this.one = scalars.of(1.0);
        this.three = scalars.of(3.0);
        this.cubicCoefficient = scalars.of(0.044715);
        this.sqrtTwoOverPi = scalars.of(Math.sqrt(2.0 / Math.PI));
    }

    /** Elementwise; any shape. */
    NDArray apply(NDArray x) {
        if (!tanhApproximation) {
            return x.getNDArrayInternal().gelu();
        }
        NDArray inner = x.add(x.pow(three).mul(cubicCoefficient)).mul(sqrtTwoOverPi);
        return x.mul(half).mul(inner.tanh().add(one));
    }
}
