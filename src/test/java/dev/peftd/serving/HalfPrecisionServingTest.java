package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.HalfGemm;
import dev.peftd.core.tensor.HalfType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * A base registered with {@code dtype: bfloat16} (the tiny Llama's float32 files, rounded to bf16 at load) serves
 * completions, with and without a float32 LoRA adapter applied unmerged, and merges.
 *
 * <p>Tolerance against the float32 registration of the same files: every prompt token's logprob within 0.1 and the
 * mean |Δ| within 0.03 (bf16 keeps 8 bits of mantissa: about 4e-3 relative per rounding, through 2 layers); and the
 * two must differ by more than 1e-4, so a base that silently loaded in float32 fails.
 */
@ServiceTest
class HalfPrecisionServingTest {

    private static final double MAX_TOLERANCE = 0.1;
    private static final double MEAN_TOLERANCE = 0.03;
    private static final long[] PROMPT = {1, 17, 42, 99, 5, 250, 31, 77, 8, 120, 64, 300};

    @LocalServerPort
    int port;

    @Test
    void aBfloat16RegistrationServesWithinTheBf16ToleranceOfFloat32WithAndWithoutAnAdapter() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        JsonNode float32 = Fixtures.readyTinyLlama(alpha, "tiny-llama");
        assertThat(float32.path("dtype").asString()).as("the default").isEqualTo("auto");
        register(alpha, "tiny-llama-bf16", "bfloat16");
        assertThat(Fixtures.awaitModel(alpha, "tiny-llama-bf16", "ready").path("dtype").asString()).isEqualTo("bfloat16");

        List<Double> full = echoLogprobs(alpha, "tiny-llama");
        List<Double> half = echoLogprobs(alpha, "tiny-llama-bf16");
        assertWithinBf16Tolerance("base", full, half);

        String fullAdapter = upload(alpha, "tiny-llama");
        String halfAdapter = upload(alpha, "tiny-llama-bf16");
        List<Double> adaptedFull = echoLogprobs(alpha, fullAdapter);
        List<Double> adaptedHalf = echoLogprobs(alpha, halfAdapter);
        assertWithinBf16Tolerance("with the adapter", adaptedFull, adaptedHalf);
        assertThat(meanDistance(adaptedHalf, half)).as("the adapter changes the bf16 base's answer")
                .isGreaterThan(1e-3);

        TestApi.Response merged = alpha.post("/v1/adapters/" + halfAdapter + "/merge", Map.of());
        assertThat(merged.status()).as(merged.toString()).isEqualTo(200);
        String mergedModel = merged.json().path("merged_model").asString();
        assertThat(alpha.get("/v1/models/" + mergedModel).json().path("dtype").asString())
                .as("a merge into a bf16 base is served in bf16: W0 + ΔW rounded once").isEqualTo("bfloat16");
        assertWithinBf16Tolerance("merged", adaptedFull, echoLogprobs(alpha, mergedModel));
    }

    @Test
    void anUnknownDtypeIsRefusedNamingTheFieldAndTheAcceptedNames() {
        TestApi.Response r = TestApi.alpha(port).post("/v1/models", Map.of("id", "tiny-fp8",
                "source", TestModels.tinyLlama().toUri().toString(), "dtype", "fp8"));
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        JsonNode error = r.json().path("errors").get(0);
        assertThat(error.path("field").asString()).isEqualTo("dtype");
        assertThat(error.path("message").asString()).contains("auto, bfloat16, float16, float32", "'fp8'");
    }

    @Test
    void gpt2RegisteredInBfloat16ServesInBfloat16() {
        TestApi alpha = TestApi.alpha(port);
        register(alpha, "tiny-gpt2-bf16", "bfloat16");
        register(alpha, "tiny-gpt2-float32", "float32");
        assertThat(Fixtures.awaitModel(alpha, "tiny-gpt2-bf16", "ready").path("dtype").asString()).isEqualTo("bfloat16");
        Fixtures.awaitModel(alpha, "tiny-gpt2-float32", "ready");
        assertWithinBf16Tolerance("GPT-2", echoLogprobs(alpha, "tiny-gpt2-float32"), echoLogprobs(alpha, "tiny-gpt2-bf16"));
    }

    /**
     * tiny-qwen2's files are bf16. A registration without {@code dtype} is auto: where the serving CPU computes bf16
     * ({@link HalfGemm#NATIVE}, avx512_bf16) it serves the bf16 weights, the very numbers of an explicit bfloat16
     * registration and within bf16's tolerance of float32; where it does not, it serves float32's numbers.
     */
    @Test
    void theDefaultAutoServesABfloat16CheckpointInBf16WhereTheCpuComputesIt() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        if (alpha.get("/v1/models/tiny-qwen2-default").status() == 404) {
            TestApi.Response r = alpha.post("/v1/models", Map.of("id", "tiny-qwen2-default",
                    "source", TestModels.tinyQwen2().toUri().toString()));
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
        }
        register(alpha, "tiny-qwen2-bfloat16", "bfloat16");
        register(alpha, "tiny-qwen2-float32", "float32");
        assertThat(Fixtures.awaitModel(alpha, "tiny-qwen2-default", "ready").path("dtype").asString()).isEqualTo("auto");
        Fixtures.awaitModel(alpha, "tiny-qwen2-bfloat16", "ready");
        Fixtures.awaitModel(alpha, "tiny-qwen2-float32", "ready");

        List<Double> auto = echoLogprobs(alpha, "tiny-qwen2-default");
        List<Double> float32 = echoLogprobs(alpha, "tiny-qwen2-float32");
        if (HalfGemm.on(Device.cpu(), HalfType.BFLOAT16) == HalfGemm.NATIVE) {
            assertThat(auto).as("auto is bf16 here").isEqualTo(echoLogprobs(alpha, "tiny-qwen2-bfloat16"));
            assertWithinBf16Tolerance("auto on a bf16 checkpoint", float32, auto);
        } else {
            assertThat(auto).as("auto is float32 on a CPU without bf16 instructions").isEqualTo(float32);
        }

        // a merge into it is served in the type the base is held in, though the merged file is float32
        TestApi.Response uploaded = ServingApiTest.uploadAdapter(alpha, "tiny-qwen2-default", null, "qwen2-lora-all");
        assertThat(uploaded.status()).as(uploaded.toString()).isEqualTo(201);
        TestApi.Response merged = alpha.post("/v1/adapters/" + uploaded.json().path("id").asString() + "/merge", Map.of());
        assertThat(merged.status()).as(merged.toString()).isEqualTo(200);
        assertThat(alpha.get("/v1/models/" + merged.json().path("merged_model").asString()).json().path("dtype")
                .asString()).isEqualTo(ModelDtype.auto(ModelDtype.BFLOAT16, Device.cpu()).externalName());
    }

    private static void register(TestApi api, String id, String dtype) {
        if (api.get("/v1/models/" + id).status() == 404) {
            java.nio.file.Path dir = id.startsWith("tiny-gpt2") ? TestModels.tinyGpt2()
                    : id.startsWith("tiny-qwen2") ? TestModels.tinyQwen2() : TestModels.tinyLlama();
            TestApi.Response r = api.post("/v1/models", Map.of("id", id, "source", dir.toUri().toString(),
                    "dtype", dtype));
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            assertThat(r.json().path("dtype").asString()).isEqualTo(dtype);
        }
    }

    private static String upload(TestApi api, String base) throws Exception {
        TestApi.Response r = ServingApiTest.uploadAdapter(api, base, null, "llama-lora");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("id").asString();
    }

    private static void assertWithinBf16Tolerance(String what, List<Double> full, List<Double> half) {
        double max = 0;
        for (int t = 1; t < full.size(); t++) {
            max = Math.max(max, Math.abs(full.get(t) - half.get(t)));
        }
        double mean = meanDistance(full, half);
        System.out.printf("bf16 vs float32 %s: mean |Δlogprob| %.3g, max %.3g%n", what, mean, max);
        assertThat(max).as(what + ": max |Δlogprob|").isLessThanOrEqualTo(MAX_TOLERANCE);
        assertThat(mean).as(what + ": mean |Δlogprob|").isLessThanOrEqualTo(MEAN_TOLERANCE);
        assertThat(mean).as(what + ": bf16 must not be float32 in disguise").isGreaterThan(1e-4);
    }

    private static double meanDistance(List<Double> a, List<Double> b) {
        double sum = 0;
        for (int t = 1; t < a.size(); t++) {
            sum += Math.abs(a.get(t) - b.get(t));
        }
        return sum / (a.size() - 1);
    }

    private static List<Double> echoLogprobs(TestApi api, String model) {
        return ServingApiTest.echoLogprobs(api, model, PROMPT);
    }
}
