package dev.peftd.core.adapter.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What peftd.json stores of an analysis reads back to the same analysis (a comparison's report is built from it). */
class AdapterAnalysisJsonTest {

    @Test
    void readsBackWhatItWrote() {
        AdapterAnalysis written = new AdapterAnalysis("delta_lora", 1234, 56789, List.of(
                new ModuleChange("model.layers.0.self_attn.q_proj", 0.5, 4.0, new double[] {0.4, 0.3, 1e-9}, 1.93, 2,
                        0.25),
                new ModuleChange("model.layers.0.mlp.up_proj", 0.0, 3.0, new double[0], 0.0, 0, null)));
        String json = new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(written.toJson());

        AdapterAnalysis read = AdapterAnalysis.fromJson(JsonParser.parseString(json).getAsJsonObject());

        assertThat(read.method()).isEqualTo("delta_lora");
        assertThat(read.trainableParams()).isEqualTo(1234);
        assertThat(read.modelParams()).isEqualTo(56789);
        assertThat(read.modules()).hasSize(2);
        for (int i = 0; i < 2; i++) {
            ModuleChange a = written.modules().get(i);
            ModuleChange b = read.modules().get(i);
            assertThat(b.module()).isEqualTo(a.module());
            assertThat(b.deltaNorm()).isEqualTo(a.deltaNorm());
            assertThat(b.baseNorm()).isEqualTo(a.baseNorm());
            assertThat(b.singularValues()).containsExactly(a.singularValues());
            assertThat(b.effectiveRank()).isEqualTo(a.effectiveRank());
            assertThat(b.numericalRank()).isEqualTo(a.numericalRank());
            assertThat(b.baseMovedNorm()).isEqualTo(a.baseMovedNorm());
        }
    }
}
