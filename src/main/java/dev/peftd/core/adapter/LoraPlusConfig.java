package dev.peftd.core.adapter;

import java.util.Map;

/**
 * LoRA+: plain LoRA whose {@code B} matrices (and 1-D trainable tensors) learn {@code loraplus_lr_ratio} times faster
 * than the {@code A} matrices. The parametrization is LoRA's; only the optimizer's parameter groups differ.
 *
 * @param lora        the LoRA part
 * @param lrRatio     {@code η_B / η_A} (default 16)
 */
public record LoraPlusConfig(LoraConfig lora, double lrRatio) implements AdapterConfig {

    public static final double DEFAULT_LR_RATIO = 16;

    public LoraPlusConfig {
        if (lora == null) {
            throw new AdapterConfigException("lora", "LoRA+ needs the LoRA settings (r, lora_alpha, target_modules)");
        }
        LoraConfig.requirePositive("loraplus_lr_ratio", lrRatio);
    }

    @Override
    public Method method() {
        return Method.LORA_PLUS;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = lora.hyperparameters();
        h.put("loraplus_lr_ratio", lrRatio);
        return h;
    }
}
