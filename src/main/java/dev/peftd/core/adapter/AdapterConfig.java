package dev.peftd.core.adapter;

import java.util.Map;

/**
 * The configuration of one adapter, one record per method. Every record validates itself at construction and names
 * the offending field in its {@link AdapterConfigException}.
 */
public sealed interface AdapterConfig permits LoraConfig, LoraFaConfig, VeraConfig, DeltaLoraConfig, LoraPlusConfig {

    Method method();

    TargetModules targetModules();

    /** The method's hyper-parameters by their PEFT (or, for ours, peftd) names, for {@code peftd.json}. */
    Map<String, Object> hyperparameters();

    /** The LoRA part of a LoRA-family config; {@code null} for VeRA. */
    LoraConfig lora();
}
