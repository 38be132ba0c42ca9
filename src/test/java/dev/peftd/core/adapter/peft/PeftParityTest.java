package dev.peftd.core.adapter.peft;

import static dev.peftd.core.adapter.peft.AdapterFixtures.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.adapter.vera.VeraAdapter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PEFT-made adapters (tools/reference/make_adapter_fixtures.py) imported here give PEFT's logits, merge into the same
 * weights PEFT's {@code merge_and_unload} writes, and survive our export → import exactly.
 */
class PeftParityTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"llama-lora, tiny-llama, LORA", "llama-lora-rslora, tiny-llama, LORA", "gpt2-lora, tiny-gpt2, LORA",
            "qwen2-lora-all, tiny-qwen2, LORA", "llama-vera, tiny-llama, VERA", "llama-vera-noproj, tiny-llama, VERA"})
    void importedAdapterGivesPeftsLogitsAndMergedWeights(String fixture, String model, Method method)
            throws Exception {
        try (NDManager m = NDManager.newBaseManager(); CausalLm lm = ModelLoader.load(TestModels.tiny(model))) {
            Map<String, NDArray> expected = AdapterFixtures.expected(fixture, m);
            NDArray ids = expected.get("input_ids");
            try (AbstractAdapter adapter = PeftImporter.load(AdapterFixtures.dir(fixture), lm.linears())) {
                assertThat(adapter.method()).isEqualTo(method);
                float logitDiff = maxAbsDiff(lm.forward(ids, null, adapter), expected.get("logits"));
                float baseDiff = maxAbsDiff(lm.forward(ids, null, null), expected.get("logits"));
                System.out.printf("parity %-18s max|Δlogits| vs PEFT = %.3g (base alone differs by %.3g)%n", fixture,
                        logitDiff, baseDiff);
                assertThat(logitDiff).isLessThanOrEqualTo(1e-4f);
                assertThat(baseDiff).isGreaterThan(0.1f); // the adapter really changes the outputs

                // merged checkpoint: PEFT's merge_and_unload weights, and the same logits as the unmerged adapter
                Path merged = tmp.resolve("merged");
                boolean conv1d = ExportOptions.usesConv1d(lm.config().architecture());
                MergedCheckpointWriter.write(TestModels.tiny(model), adapter, merged, conv1d);
                Map<String, NDArray> ours = AdapterFixtures.load(merged.resolve("model.safetensors"), m);
                int compared = 0;
                for (Map.Entry<String, NDArray> e : expected.entrySet()) {
                    if (e.getKey().startsWith("merged.")) {
                        String key = e.getKey().substring("merged.".length());
                        assertThat(maxAbsDiff(ours.get(key), e.getValue())).as(key).isLessThanOrEqualTo(1e-5f);
                        compared++;
                    }
                }
                assertThat(compared).isPositive();
                try (CausalLm mergedLm = ModelLoader.load(merged)) {
                    float mergedDiff = maxAbsDiff(mergedLm.forward(ids, null, null), expected.get("logits"));
                    System.out.printf("parity %-18s merged checkpoint max|Δlogits| vs PEFT = %.3g%n", fixture,
                            mergedDiff);
                    assertThat(mergedDiff).isLessThanOrEqualTo(1e-4f);
                }

                // our export loads back identically
                Path exported = tmp.resolve("exported");
                PeftExporter.export(adapter, exported, ExportOptions.forModel(model, lm.config()));
                try (AbstractAdapter again = PeftImporter.load(exported, lm.linears())) {
                    assertThat(again.config()).isEqualTo(adapter.config());
                    for (String module : adapter.modules()) {
                        assertThat(maxAbsDiff(again.deltaWeight(module), adapter.deltaWeight(module))).isZero();
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"llama-vera", "llama-vera-noproj"})
    void veraAsRankRLoraGivesTheSameLogits(String fixture) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); CausalLm lm = ModelLoader.load(TestModels.tinyLlama())) {
            NDArray ids = AdapterFixtures.expected(fixture, m).get("input_ids");
            try (AbstractAdapter vera = PeftImporter.load(AdapterFixtures.dir(fixture), lm.linears())) {
                Path asLora = tmp.resolve("as-lora");
                String kind = PeftExporter.export(vera, asLora,
                        ExportOptions.forModel("tiny-llama", lm.config()).withVeraAsLora(true));
                assertThat(kind).isEqualTo("lora");
                try (AbstractAdapter lora = PeftImporter.load(asLora, lm.linears())) {
                    assertThat(lora.config()).isInstanceOf(LoraConfig.class);
                    assertThat(((LoraConfig) lora.config()).r()).isEqualTo(8);
                    float diff = maxAbsDiff(lm.forward(ids, null, lora), lm.forward(ids, null, vera));
                    System.out.printf("VeRA %-18s as rank-r LoRA max|Δlogits| = %.3g%n", fixture, diff);
                    assertThat(diff).isLessThanOrEqualTo(1e-5f);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void savedVeraProjectionsAreRegeneratedBitIdentically() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); CausalLm lm = ModelLoader.load(TestModels.tinyLlama())) {
            Map<String, NDArray> saved = AdapterFixtures.load(
                    AdapterFixtures.dir("llama-vera").resolve(PeftExporter.WEIGHTS_FILE), m);
            VeraConfig config = (VeraConfig) PeftConfigJson.read(AdapterFixtures.dir("llama-vera"));
            try (VeraAdapter fresh = (VeraAdapter) dev.peftd.core.adapter.Adapters.create(config, lm.linears(), 0)) {
                assertThat(fresh.projectionA().toFloatArray()).containsExactly(saved.get(PeftKeys.VERA_A).toFloatArray());
                assertThat(fresh.projectionB().toFloatArray()).containsExactly(saved.get(PeftKeys.VERA_B).toFloatArray());
            }
        }
    }
}
