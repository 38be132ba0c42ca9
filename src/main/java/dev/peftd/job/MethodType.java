package dev.peftd.job;

import java.util.Arrays;
import java.util.Optional;

/** The adapter methods a job can train; names as in the API ({@code method.type}). */
public enum MethodType {
    lora, lora_fa, vera, delta_lora, lora_plus;

    /** {@code supervised} is OpenAI's name for plain supervised fine-tuning; here it means LoRA. */
    static Optional<MethodType> fromApi(String name) {
        if ("supervised".equals(name)) {
            return Optional.of(lora);
        }
        return Arrays.stream(values()).filter(t -> t.name().equals(name)).findFirst();
    }
}
