package dev.peftd.core.adapter.peft;

import static dev.peftd.core.adapter.peft.AdapterFixtures.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.analysis.AdapterAnalyzer;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PEFT adapters made on the real pretrained stories260K (../shared/data; skipped when absent): all-linear LoRA and
 * VeRA without saved projections give PEFT's logits on real text.
 */
class Stories260kAdapterTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260k-lora", "stories260k-vera"})
    void importedAdapterGivesPeftsLogitsOnTheRealModel(String fixture) throws Exception {
        assumeTrue(TestModels.stories260K().isPresent(), "../shared/data/models/stories260K is absent");
        Path model = TestModels.stories260K().get();
        try (NDManager m = NDManager.newBaseManager(); CausalLm lm = ModelLoader.load(model);
             AbstractAdapter adapter = PeftImporter.load(AdapterFixtures.dir(fixture), lm.linears())) {
            Map<String, NDArray> expected = AdapterFixtures.expected(fixture, m);
            NDArray ids = expected.get("input_ids");
            float diff = maxAbsDiff(lm.forward(ids, null, adapter), expected.get("logits"));
            System.out.printf("parity %-18s max|Δlogits| vs PEFT = %.3g%n", fixture, diff);
            assertThat(diff).isLessThanOrEqualTo(1e-4f);
            AdapterAnalysis analysis = AdapterAnalyzer.analyze(adapter, AdapterExport.parameterCount(model));
            assertThat(analysis.modelParams()).isEqualTo(260_032);
            assertThat(analysis.modules()).allSatisfy(c -> assertThat(c.relativeChange()).isPositive());
        }
    }
}
