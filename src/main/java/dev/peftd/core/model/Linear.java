package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfType;

/**
 * A base-model linear layer in PEFT orientation: {@code y = x·Wᵀ + b}. GPT-2's Conv1D weights ({@code [in, out]} on
 * disk) are transposed at load time so that every family looks the same here.
 */
public interface Linear {

    /** The module name in the Hugging Face checkpoint, e.g. {@code model.layers.0.mlp.down_proj}. */
    String name();

    /**
     * float32 {@code [out, in]}; the live weight (Delta-LoRA and merge update it in place on a private copy).
     *
     * @throws UnsupportedOperationException when the base is held in a half type (see {@link #halfPrecision()}):
     *                                       there is no float32 weight to hand out
     */
    NDArray weight();

    /** float32 {@code [out]}, or {@code null} when the layer has no bias (same exception as {@link #weight()}). */
    NDArray bias();

    /** {@code [out, in]} of the weight, whatever its type. */
    default Shape weightShape() {
        return weight().getShape();
    }

    /** The device the weight lives on. */
    default Device device() {
        return weight().getDevice();
    }

    /** True when the weight is held in bfloat16 or float16 ({@link #weight()} then throws). */
    default boolean halfPrecision() {
        return halfType() != null;
    }

    /** The half type the weight is held in, or {@code null} for float32. */
    default HalfType halfType() {
        return null;
    }

    /** Elements of the weight and bias. */
    default long parameterCount() {
        long out = weightShape().get(0);
        return weightShape().size() + (hasBias() ? out : 0);
    }

    default boolean hasBias() {
        return bias() != null;
    }

    /** ‖W‖_F summed in float64, whatever the weight's type: the scale adapter analysis compares changes to. */
    default double weightFrobeniusNorm() {
        return frobeniusNorm(weight());
    }

    /** ‖w‖_F of a float32 array, summed in float64. */
    static double frobeniusNorm(NDArray w) {
        try (NDArray squares = w.square(); NDArray sum = squares.sum();
                NDArray wide = sum.toType(ai.djl.ndarray.types.DataType.FLOAT64, false)) {
            return Math.sqrt(wide.getDouble());
        }
    }

    /** @param x float32 {@code [..., in]} → {@code x·Wᵀ + b}, float32 {@code [..., out]}, without any adapter */
    default NDArray baseOutput(NDArray x) {
        return x.getNDArrayInternal().linear(x, weight(), bias()).singletonOrThrow();
    }

    /**
     * The gradient of the input of {@link #baseOutput} from the gradient of its output, computed directly (no
     * autograd), as autograd would: {@code g·W}.
     *
     * @param outputGradient float32 {@code [n, out]}
     * @return float32 {@code [n, in]}
     */
    default NDArray inputGradient(NDArray outputGradient) {
        return outputGradient.matMul(weight());
    }

    default long inFeatures() {
        return weightShape().get(1);
    }

    default long outFeatures() {
        return weightShape().get(0);
    }
}
