package dev.peftd.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfType;
import dev.peftd.core.tensor.ScalarConstants;

/**
 * GPT-2's MLP activation. {@code gelu_new} (and {@code gelu_pytorch_tanh}) is the tanh approximation
 * {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}, composed here because DJL's {@code gelu()} is the erf form.
 * In a half model each form runs as transformers' does on half tensors: {@code gelu_new} composed op by op
 * ({@code NewGELUActivation}), {@code gelu_pytorch_tanh} as libtorch's tanh GELU ({@code GELUTanh}), which round
 * differently.
 */
final class Gpt2Activation {

    private final String name;
    private final boolean tanhApproximation;
    private final HalfType halfType;
    private final NDArray half;
    private final NDArray one;
    private final NDArray three;
    private final NDArray cubicCoefficient;
    private final NDArray sqrtTwoOverPi;

    /** @param halfType the model's half type, or {@code null} in float32 */
    Gpt2Activation(String name, ScalarConstants scalars, HalfType halfType) {
        this.name = name;
        this.tanhApproximation = !name.equals("gelu");
        this.halfType = halfType;
        this.half = scalars.of(0.5);
        this.one = scalars.of(1.0);
        this.three = scalars.of(3.0);
        this.cubicCoefficient = scalars.of(0.044715);
        this.sqrtTwoOverPi = scalars.of(Math.sqrt(2.0 / Math.PI));
    }

    /** Elementwise; any shape. */
    NDArray apply(NDArray x) {
        if (halfType != null) {
            return switch (name) {
                case "gelu_new" -> HalfOps.geluNew(x, halfType);
                case "gelu_pytorch_tanh" -> HalfOps.geluTanh(x, halfType);
                default -> HalfOps.gelu(x, halfType);
            };
        }
        if (!tanhApproximation) {
            return x.getNDArrayInternal().gelu();
        }
        NDArray inner = x.add(x.pow(three).mul(cubicCoefficient)).mul(sqrtTwoOverPi);
        return x.mul(half).mul(inner.tanh().add(one));
    }
}
