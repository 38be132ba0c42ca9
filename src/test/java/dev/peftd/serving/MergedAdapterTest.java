package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peftd.core.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A merged checkpoint written from the shared base serves the same logprobs as the adapter applied unmerged
 * (fp32 tolerance), leaves the shared base untouched, and counts as merged serving in the meters.
 */
class MergedAdapterTest {

    private static final double FP32_TOLERANCE = 1e-4;
    private static final String PROMPT = "once upon a time there was a little robot";

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"llama-lora, tiny-llama", "llama-vera, tiny-llama", "gpt2-lora, tiny-gpt2", "qwen2-lora-all, tiny-qwen2"})
    void mergedCheckpointServesWhatTheUnmergedAdapterServes(String adapter, String model, @TempDir Path tmp)
            throws Exception {
        try (ServingFixtures serving = new ServingFixtures()) {
            ServedModel base = ServingFixtures.base(model);
            ServedModel unmerged = ServingFixtures.adapter(adapter, model);
            List<Double> baseBefore = echoLogprobs(serving, base);
            Path out = tmp.resolve("merged");
            AdapterMerger.merge(serving.engine.bases().get(TestModels.tiny(model)), ServingFixtures.adapterDir(adapter), out);
            assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
            assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
            assertTrue(Files.isRegularFile(out.resolve("config.json")));

            List<Double> viaAdapter = echoLogprobs(serving, unmerged);
            List<Double> viaMerged = echoLogprobs(serving, ServedModel.merged("merged", out));
            assertEquals(viaAdapter.size(), viaMerged.size());
            double maxDiff = 0;
            for (int t = 1; t < viaAdapter.size(); t++) {
                maxDiff = Math.max(maxDiff, Math.abs(viaAdapter.get(t) - viaMerged.get(t)));
            }
            assertTrue(maxDiff <= FP32_TOLERANCE, "max |merged - unmerged| = " + maxDiff);
            assertNotEquals(baseBefore, viaAdapter, "the adapter changes the model");
            assertEquals(baseBefore, echoLogprobs(serving, base), "merging never writes into the shared base");
            assertEquals(1.0, serving.registry.get("peftd.serving.requests").tag("mode", "merged").counter().count());
            assertEquals(1.0, serving.registry.get("peftd.serving.requests").tag("mode", "unmerged").counter().count());
        }
    }

    private static List<Double> echoLogprobs(ServingFixtures serving, ServedModel model) {
        CompletionResponse r = serving.completions.complete(model,
                CompletionRequest.of(model.name(), PROMPT, 0).withLogprobs(0, true));
        return r.choices().get(0).logprobs().tokenLogprobs();
    }
}
