package dev.peftd.core.adapter;

import java.util.Map;

/**
 * The configuration of one adapter, one record per method. Every record validates itself at construction and names
 * the offending field in its {@link AdapterConfigException}.
 */
public sealed interface AdapterConfig permits LoraConfig, LoraFaConfig, VeraConfig, DeltaLoraConfig, LoraPlusConfig {

    Method method();

    /** Which linear layers the adapter targets; the LoRA family takes them from its LoRA part. */
    default TargetModules targetModules() {
        return lora().targetModules();
    }

    /** The method's hyper-parameters by their PEFT (or, for ours, peftd) names, for {@code peftd.json}. */
    Map<String, Object> hyperparameters();

    /** The LoRA part of a LoRA-family config; {@code null} for VeRA. */
    LoraConfig lora();

    /**
     * This config as it applies to a run of {@code totalSteps} optimizer steps. Only Delta-LoRA depends on the run
     * length (its start step is clamped, see {@link DeltaLoraConfig#clampedTo}); the others are returned as they are.
     */
    default AdapterConfig forRunOf(int totalSteps) {
        return this;
    }
}
