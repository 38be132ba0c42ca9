package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;

/**
 * A base-model linear layer in PEFT orientation: {@code y = x·Wᵀ + b}. GPT-2's Conv1D weights ({@code [in, out]} on
 * disk) are transposed at load time so that every family looks the same here.
 */
public interface Linear {

    /** The module name in the Hugging Face checkpoint, e.g. {@code model.layers.0.mlp.down_proj}. */
    String name();

    /** float32 {@code [out, in]}; the live weight (Delta-LoRA and merge update it in place on a private copy). */
    NDArray weight();

    /** float32 {@code [out]}, or {@code null} when the layer has no bias. */
    NDArray bias();

    default long inFeatures() {
        return weight().getShape().get(1);
    }

    default long outFeatures() {
        return weight().getShape().get(0);
    }
}
