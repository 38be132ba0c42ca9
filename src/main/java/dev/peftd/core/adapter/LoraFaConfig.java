package dev.peftd.core.adapter;

import java.util.Map;

/**
 * LoRA-FA: LoRA with {@code A} frozen at its random init; only {@code B} trains.
 *
 * @param lora             the LoRA part (rank, alpha, targets, …)
 * @param projectGradient  apply PEFT's least-squares projection {@code g_B ← (1/s²)·g_B·(A·Aᵀ+1e-8·I)⁻¹} before AdamW
 */
public record LoraFaConfig(LoraConfig lora, boolean projectGradient) implements AdapterConfig {

    public LoraFaConfig {
        if (lora == null) {
            throw new AdapterConfigException("lora", "LoRA-FA needs the LoRA settings (r, lora_alpha, target_modules)");
        }
    }

    @Override
    public Method method() {
        return Method.LORA_FA;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = lora.hyperparameters();
        h.put("lora_fa_project_grad", projectGradient);
        return h;
    }
}
