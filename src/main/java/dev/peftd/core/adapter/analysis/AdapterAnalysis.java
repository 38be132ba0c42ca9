package dev.peftd.core.adapter.analysis;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The "what changed" report of one adapter.
 *
 * @param method          method id, e.g. {@code lora}
 * @param trainableParams scalars the optimizer updated
 * @param modelParams     parameters of the base model (all of its tensors), for the share
 * @param modules         per adapted module, in the model's order
 */
public record AdapterAnalysis(String method, long trainableParams, long modelParams, List<ModuleChange> modules) {

    /** trainable / model parameters. */
    public double trainableShare() {
        return modelParams == 0 ? Double.NaN : (double) trainableParams / modelParams;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", method);
        m.put("trainable_params", trainableParams);
        m.put("model_params", modelParams);
        m.put("trainable_share", trainableShare());
        m.put("effective_rank_definition", "entropy effective rank exp(-sum p_i ln p_i), p_i = s_i / sum s "
                + "(Roy & Vetterli 2007); numerical_rank counts s_i > " + AdapterAnalyzer.RANK_TOLERANCE + " * s_1");
        List<Map<String, Object>> list = new ArrayList<>();
        for (ModuleChange c : modules) {
            list.add(c.toJson());
        }
        m.put("modules", list);
        return m;
    }

    /**
     * Reads back what {@link #toJson} wrote (as {@code peftd.json} stores it): a service builds a comparison's report
     * from its children's exported adapters without loading them.
     */
    public static AdapterAnalysis fromJson(JsonObject json) {
        List<ModuleChange> modules = new ArrayList<>();
        for (JsonElement module : json.getAsJsonArray("modules")) {
            modules.add(ModuleChange.fromJson(module.getAsJsonObject()));
        }
        return new AdapterAnalysis(json.get("method").getAsString(), json.get("trainable_params").getAsLong(),
                json.get("model_params").getAsLong(), modules);
    }

    /** A plain-text table for the terminal. */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "method %s: %,d trainable parameters = %.4f%% of %,d%n", method,
                trainableParams, 100 * trainableShare(), modelParams));
        boolean delta = modules.stream().anyMatch(c -> c.baseMovedNorm() != null);
        sb.append(String.format(Locale.ROOT, "%-44s %11s %9s %8s %6s  %s%s%n", "module", "|dW|_F", "|dW|/|W|",
                "eff.rank", "rank", "top singular values", delta ? "  |W_T-W0|_F" : ""));
        for (ModuleChange c : modules) {
            StringBuilder sv = new StringBuilder();
            for (int i = 0; i < Math.min(4, c.singularValues().length); i++) {
                sv.append(String.format(Locale.ROOT, i == 0 ? "%.3g" : " %.3g", c.singularValues()[i]));
            }
            sb.append(String.format(Locale.ROOT, "%-44s %11.4g %9.4g %8.2f %6d  %s%s%n", c.module(), c.deltaNorm(),
                    c.relativeChange(), c.effectiveRank(), c.numericalRank(), sv,
                    c.baseMovedNorm() == null ? "" : String.format(Locale.ROOT, "  %.4g", c.baseMovedNorm())));
        }
        return sb.toString();
    }
}
