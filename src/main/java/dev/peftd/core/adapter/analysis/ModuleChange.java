package dev.peftd.core.adapter.analysis;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What an adapter changed in one linear layer.
 *
 * @param module              HF module name
 * @param deltaNorm           ‖ΔW‖_F of the deployed change (relative to the original base weight)
 * @param baseNorm            ‖W0‖_F
 * @param singularValues      of ΔW, descending (at most the factor rank: r, or 2r for Delta-LoRA)
 * @param effectiveRank       entropy effective rank exp(−Σ pᵢ·ln pᵢ), pᵢ = σᵢ/Σσ (Roy &amp; Vetterli 2007); 0 for ΔW = 0
 * @param numericalRank       count of σᵢ &gt; {@value AdapterAnalyzer#RANK_TOLERANCE}·σ₁
 * @param baseMovedNorm       Delta-LoRA only: ‖W_T − W0‖_F, how far the base weight itself moved; otherwise null
 */
public record ModuleChange(String module, double deltaNorm, double baseNorm, double[] singularValues,
                           double effectiveRank, int numericalRank, Double baseMovedNorm) {

    /** ‖ΔW‖_F / ‖W0‖_F. */
    public double relativeChange() {
        return baseNorm == 0 ? Double.NaN : deltaNorm / baseNorm;
    }

    /** What {@link #toJson} wrote. */
    static ModuleChange fromJson(JsonObject json) {
        JsonArray values = json.getAsJsonArray("singular_values");
        double[] singular = new double[values.size()];
        for (int i = 0; i < singular.length; i++) {
            singular[i] = values.get(i).getAsDouble();
        }
        JsonElement moved = json.get("base_moved_fro_norm");
        return new ModuleChange(json.get("module").getAsString(), json.get("delta_fro_norm").getAsDouble(),
                json.get("base_fro_norm").getAsDouble(), singular, json.get("effective_rank_entropy").getAsDouble(),
                json.get("numerical_rank").getAsInt(), moved == null || moved.isJsonNull() ? null : moved.getAsDouble());
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("module", module);
        m.put("delta_fro_norm", deltaNorm);
        m.put("base_fro_norm", baseNorm);
        m.put("relative_change", relativeChange());
        m.put("singular_values", singularValues);
        m.put("effective_rank_entropy", effectiveRank);
        m.put("numerical_rank", numericalRank);
        if (baseMovedNorm != null) {
            m.put("base_moved_fro_norm", baseMovedNorm);
            m.put("base_moved_relative", baseNorm == 0 ? Double.NaN : baseMovedNorm / baseNorm);
        }
        return m;
    }
}
