package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;

/**
 * One tensor the optimizer updates.
 *
 * @param name    PEFT key without the adapter name, e.g. {@code base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight}
 * @param value   the live parameter (requires gradient), owned by the adapter
 * @param role    what the optimizer needs to know to place it in a parameter group (LoRA+ learning rates,
 *                LoRA-FA gradient projection, weight decay on 1-D tensors)
 * @param frozenA for a {@link Role#LORA_B} of a LoRA-FA adapter configured to project its gradient: the frozen A and the module's scaling, which the
 *                optimizer needs for PEFT's gradient projection {@code g_B ← (1/s²)·g_B·(A·Aᵀ+1e-8·I)⁻¹};
 *                {@code null} otherwise
 */
public record TrainableTensor(String name, NDArray value, Role role, FrozenA frozenA) {

    /** A tensor without a frozen partner (every method except LoRA-FA's B). */
    public TrainableTensor(String name, NDArray value, Role role) {
        this(name, value, role, null);
    }

    public enum Role {
        /** LoRA down-projection {@code [r, in]}. */
        LORA_A,
        /** LoRA up-projection {@code [out, r]}. */
        LORA_B,
        /** VeRA scaling vector {@code b} ({@code [out]}) or {@code d} ({@code [r]}). */
        VERA_VECTOR
    }

    /**
     * The frozen down-projection paired with a trainable B.
     *
     * @param value   A, float32 {@code [r, in]}, not trainable
     * @param scaling the module's LoRA scaling s ({@code alpha/r} or {@code alpha/√r})
     */
    public record FrozenA(NDArray value, double scaling) {
    }
}
