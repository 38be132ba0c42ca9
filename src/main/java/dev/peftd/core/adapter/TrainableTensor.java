package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;

/**
 * One tensor the optimizer updates.
 *
 * @param name  PEFT key without the adapter name, e.g. {@code base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight}
 * @param value the live parameter (requires gradient), owned by the adapter
 * @param role  what the optimizer needs to know to place it in a parameter group (LoRA+ learning rates,
 *              LoRA-FA gradient projection, weight decay on 1-D tensors)
 */
public record TrainableTensor(String name, NDArray value, Role role) {

    public enum Role {
        /** LoRA down-projection {@code [r, in]}. */
        LORA_A,
        /** LoRA up-projection {@code [out, r]}. */
        LORA_B,
        /** VeRA scaling vector {@code b} ({@code [out]}) or {@code d} ({@code [r]}). */
        VERA_VECTOR
    }
}
