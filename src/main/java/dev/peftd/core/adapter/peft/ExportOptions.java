package dev.peftd.core.adapter.peft;

import dev.peftd.core.model.ModelConfig;

/**
 * How to write a PEFT adapter directory.
 *
 * @param baseModelNameOrPath written as {@code base_model_name_or_path} (informational for PEFT)
 * @param fanInFanOut         the base stores weights as {@code [in, out]} (GPT-2 Conv1D); PEFT wants this flag set
 * @param veraAsLora          write a VeRA adapter as its exact rank-r LoRA instead of a PEFT VeRA file
 */
public record ExportOptions(String baseModelNameOrPath, boolean fanInFanOut, boolean veraAsLora) {

    /** Options for a base model of this architecture. */
    public static ExportOptions forModel(String baseModelNameOrPath, ModelConfig config) {
        return new ExportOptions(baseModelNameOrPath, usesConv1d(config.architecture()), false);
    }

    public ExportOptions withVeraAsLora(boolean asLora) {
        return new ExportOptions(baseModelNameOrPath, fanInFanOut, asLora);
    }

    /** GPT-2 keeps its linear weights in Conv1D modules, stored {@code [in, out]}. */
    public static boolean usesConv1d(String architecture) {
        return architecture != null && architecture.startsWith("GPT2");
    }
}
