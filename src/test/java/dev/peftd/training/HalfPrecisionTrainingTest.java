package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.model.TestModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The job hyperparameter {@code dtype}: a LoRA job trains on a bf16 base and its adapter serves on the bf16
 * registration; VeRA trains on a bf16 checkpoint under {@code auto} (its half base known only at load) and serves; an
 * unknown dtype is a 400 naming the field.
 */
@ServiceTest
class HalfPrecisionTrainingTest {

    @LocalServerPort
    int port;

    @Test
    void aLoraJobOnABfloat16BaseSucceedsAndItsAdapterServes() {
        TestApi api = TestApi.alpha(port);
        JsonNode created = submit(api, "tiny-llama-bf16", TestModels.tinyLlama(), "bfloat16", "lora",
                Map.of("r", 4, "max_steps", 2, "batch_size", 2, "learning_rate", 1e-3, "dtype", "bfloat16"));
        assertThat(created.path("method").path("lora").path("hyperparameters").path("dtype").asString())
                .isEqualTo("bfloat16");
        JsonNode job = finished(api, created.path("id").asString());
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");

        TestApi.Response served = api.post("/v1/completions", Map.of("model", job.path("fine_tuned_model").asString(),
                "prompt", "Once upon a time", "max_tokens", 4, "logprobs", 1));
        assertThat(served.status()).as(served.toString()).isEqualTo(200);
        assertThat(served.json().path("choices").get(0).path("logprobs").path("token_logprobs").valueStream()
                .mapToDouble(JsonNode::asDouble)).as("up to 4 tokens (an end-of-text may come first)").isNotEmpty()
                .allMatch(Double::isFinite);
    }

    @Test
    void anUnknownDtypeIsRefusedNamingTheField() {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        TestApi.Response unknown = api.post("/v1/fine_tuning/jobs", job("tiny-llama", file, "lora",
                Map.of("max_steps", 1, "dtype", "fp8")));
        assertThat(unknown.status()).as(unknown.toString()).isEqualTo(400);
        assertThat(unknown.json().path("errors").get(0).path("field").asString())
                .isEqualTo("method.lora.hyperparameters.dtype");
    }

    /** tiny-qwen2's files are bf16: under {@code auto} VeRA gets a half base, which only the load reveals. */
    @Test
    void veraWithAutoOnABfloat16CheckpointTrainsAndServes() {
        TestApi api = TestApi.alpha(port);
        JsonNode created = submit(api, "tiny-qwen2", TestModels.tinyQwen2(), "float32", "vera",
                Map.of("r", 8, "max_steps", 2, "batch_size", 2, "learning_rate", 1e-2, "dtype", "auto"));
        JsonNode job = finished(api, created.path("id").asString());
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        TestApi.Response served = api.post("/v1/completions", Map.of("model", job.path("fine_tuned_model").asString(),
                "prompt", "Once upon a time", "max_tokens", 3, "logprobs", 1));
        assertThat(served.status()).as(served.toString()).isEqualTo(200);
    }

    /** Registers {@code model} (if new) in {@code registered} and submits a job on it. */
    private static JsonNode submit(TestApi api, String model, Path dir, String registered, String method,
            Map<String, Object> hp) {
        ready(api, model, dir, registered);
        return api.post("/v1/fine_tuning/jobs", job(model, Fixtures.uploadTrainingFile(api), method, hp)).json();
    }

    private static Map<String, Object> job(String model, String file, String method, Map<String, Object> hp) {
        return Map.of("model", model, "training_file", file, "suffix", "half",
                "method", Map.of("type", method, method, Map.of("hyperparameters", hp)));
    }

    private static JsonNode finished(TestApi api, String id) {
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).until(() -> List.of(
                "succeeded", "failed", "cancelled").contains(api.get("/v1/fine_tuning/jobs/" + id).json()
                .path("status").asString()));
        return api.get("/v1/fine_tuning/jobs/" + id).json();
    }

    private static void ready(TestApi api, String id, Path dir, String dtype) {
        if (api.get("/v1/models/" + id).status() == 404) {
            TestApi.Response r = api.post("/v1/models", Map.of("id", id, "source", dir.toUri().toString(),
                    "dtype", dtype));
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
        }
        Fixtures.awaitModel(api, id, "ready");
    }
}
