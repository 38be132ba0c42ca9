package dev.peftd.core.adapter;

import dev.peftd.core.adapter.deltalora.DeltaLoraAdapter;
import dev.peftd.core.adapter.lora.LoraAdapter;
import dev.peftd.core.adapter.vera.VeraAdapter;
import dev.peftd.core.model.Linear;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Creates a fresh adapter of any method on a model's linear layers. */
public final class Adapters {

    /** HF name of the output head, which {@code all-linear} excludes (PEFT: {@code get_output_embeddings()}). */
    public static final String OUTPUT_HEAD = "lm_head";

    private Adapters() {
    }

    /**
     * @param linears the model's linear layers ({@code CausalLm.linears()})
     * @param seed    seeds LoRA's A init (VeRA's projections use the config's {@code projection_prng_key})
     */
    public static AbstractAdapter create(AdapterConfig config, Map<String, Linear> linears, long seed) {
        Map<String, Linear> targets = targets(config.targetModules(), linears);
        if (config instanceof VeraConfig vera) {
            return VeraAdapter.initialize(vera, targets);
        }
        if (config instanceof DeltaLoraConfig delta) {
            return DeltaLoraAdapter.initialize(delta, targets, seed);
        }
        return LoraAdapter.initialize(config, targets, seed);
    }

    /** The selected linear layers in the model's order; throws naming target_modules when none matches. */
    public static Map<String, Linear> targets(TargetModules targetModules, Map<String, Linear> linears) {
        List<String> selected = targetModules.select(linears.keySet(), OUTPUT_HEAD);
        Map<String, Linear> targets = new LinkedHashMap<>();
        for (String name : selected) {
            targets.put(name, linears.get(name));
        }
        return targets;
    }
}
