package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * A job's checkpoints are models: {@code …:ckpt-step-N} serves through completions, downloads as an adapter zip and
 * is listed for its tenant only; uploaded adapters are listed too. {@code DELETE /v1/models/{ft}} removes a model and
 * its files, refused while a request holds it or a job may still continue from it.
 */
@ServiceTest
class CheckpointModelsTest {

    static final long[] PROMPT = {1, 17, 42, 99, 7, 3, 250, 11};

    @LocalServerPort
    int port;
    @Autowired
    ServedModels served;
    @Autowired
    ServingEngine engine;

    @Test
    void checkpointsServeDownloadAndListAsModelsAndDeletionWaitsForTheirRequests() throws IOException {
        TestApi alpha = TestApi.alpha(port);
        TestApi beta = TestApi.beta(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(alpha);
        String job = create(alpha, file, 6);
        JsonNode done = awaitStatus(alpha, job, "succeeded");
        String model = done.path("fine_tuned_model").asString();

        List<String> names = alpha.get("/v1/fine_tuning/jobs/" + job + "/checkpoints").json().path("data")
                .valueStream().map(c -> c.path("fine_tuned_model_checkpoint").asString()).toList();
        assertThat(names).contains(model + ":ckpt-step-2", model + ":ckpt-step-4");
        String step2 = model + ":ckpt-step-2";
        String step4 = model + ":ckpt-step-4";

        // served hot-swapped on the shared base, the step-2 adapter: not the final one, not the base
        List<Double> viaCheckpoint = ServingApiTest.echoLogprobs(alpha, step2, PROMPT);
        assertThat(viaCheckpoint).isNotEqualTo(ServingApiTest.echoLogprobs(alpha, model, PROMPT))
                .isNotEqualTo(ServingApiTest.echoLogprobs(alpha, "tiny-llama", PROMPT));
        TestApi.Response chat = alpha.post("/v1/chat/completions", Map.of("model", step2, "max_tokens", 2,
                "messages", List.of(Map.of("role", "user", "content", "hi"))));
        // chat resolves the name the same way; this tiny base has no chat template, which is what it then says
        assertThat(chat.status()).as(chat.toString()).isEqualTo(400);
        assertThat(chat.json().path("detail").asString()).contains("'" + step2 + "' cannot chat")
                .as("no server path in a client error").doesNotContain("/");

        // the download is that adapter: uploaded again, it serves the very same logprobs
        TestApi.Response zip = alpha.get("/v1/fine_tuning/jobs/" + job + "/adapter?step=2");
        assertThat(zip.status()).as(zip.toString()).isEqualTo(200);
        assertThat(entries(zip.bytes())).contains("adapter_config.json", "adapter_model.safetensors");
        String adapterName = "ckpt-copy-" + UUID.randomUUID().toString().substring(0, 8);
        JsonNode uploaded = ServingApiTest.upload(alpha, "tiny-llama", adapterName, "step2.zip", zip.bytes()).json();
        String adapterId = uploaded.path("id").asString();
        assertThat(ServingApiTest.echoLogprobs(alpha, adapterId, PROMPT)).isEqualTo(viaCheckpoint);
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job + "/adapter?step=3").status()).isEqualTo(404);

        // listed for the tenant with what they come from; the uploaded adapter too; nothing of it for another tenant
        JsonNode listed = alpha.get("/v1/models").json().path("data");
        assertThat(ids(listed)).contains(model, step2, step4, adapterId);
        JsonNode checkpointView = find(listed, step2);
        assertThat(checkpointView.path("parent").asString()).isEqualTo("tiny-llama");
        assertThat(checkpointView.path("fine_tuning_job").asString()).isEqualTo(job);
        assertThat(checkpointView.path("checkpoint_step").asInt()).isEqualTo(2);
        assertThat(find(listed, adapterId).path("name").asString()).isEqualTo(adapterName);
        assertThat(find(listed, adapterId).path("parent").asString()).isEqualTo("tiny-llama");
        assertThat(alpha.get("/v1/models/" + step2).json().path("checkpoint_step").asInt()).isEqualTo(2);
        assertThat(alpha.get("/v1/models/" + adapterName).json().path("id").asString()).isEqualTo(adapterId);
        assertThat(ids(beta.get("/v1/models").json().path("data"))).doesNotContain(model, step2, step4, adapterId);
        for (String name : List.of(model, step2)) {
            assertThat(beta.get("/v1/models/" + name).status()).isEqualTo(404);
            assertThat(beta.post("/v1/completions", Map.of("model", name, "prompt", "hi")).status()).isEqualTo(404);
            assertThat(beta.delete("/v1/models/" + name).status()).isEqualTo(404);
        }
        assertThat(beta.get("/v1/fine_tuning/jobs/" + job + "/adapter?step=2").status()).isEqualTo(404);

        // a request holds the step-2 adapter: neither it nor the model it belongs to can be deleted meanwhile
        try (ServingEngine.Session request = engine.open(served.resolve("alpha", step2), "completions")) {
            assertThat(request.model().name()).isEqualTo(step2);
            TestApi.Response refused = alpha.delete("/v1/models/" + step2);
            assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
            assertThat(refused.json().path("detail").asString()).contains("serving a request");
            assertThat(alpha.delete("/v1/models/" + model).status()).isEqualTo(409);
        }
        TestApi.Response deleted = alpha.delete("/v1/models/" + step2);
        assertThat(deleted.status()).as(deleted.toString()).isEqualTo(200);
        assertThat(deleted.json()).isEqualTo(TestApi.json().readTree(
                "{\"id\": \"" + step2 + "\", \"object\": \"model\", \"deleted\": true}"));
        assertThat(alpha.post("/v1/completions", Map.of("model", step2, "prompt", "hi")).status()).isEqualTo(404);
        assertThat(alpha.get("/v1/models/" + step2).status()).isEqualTo(404);
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job + "/adapter?step=2").status()).isEqualTo(404);
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job + "/checkpoints").json().path("data").valueStream()
                .map(c -> c.path("step_number").asInt())).doesNotContain(2).contains(4);
        assertThat(ServingApiTest.echoLogprobs(alpha, step4, PROMPT)).hasSameSizeAs(viaCheckpoint);

        // the final model takes its remaining checkpoints with it; the job stays
        assertThat(alpha.delete("/v1/models/" + model).status()).isEqualTo(200);
        for (String name : List.of(model, step4)) {
            assertThat(alpha.post("/v1/completions", Map.of("model", name, "prompt", "hi")).status()).isEqualTo(404);
            assertThat(alpha.get("/v1/models/" + name).status()).isEqualTo(404);
        }
        assertThat(ids(alpha.get("/v1/models").json().path("data"))).doesNotContain(model, step4).contains(adapterId);
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job + "/adapter").status()).isEqualTo(404);
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job + "/checkpoints").json().path("data")).isEmpty();
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job).json().path("status").asString()).isEqualTo("succeeded");
        assertThat(alpha.delete("/v1/models/" + model).status()).as("deleted once").isEqualTo(404);
        assertThat(Fixtures.jobMessages(alpha, job)).contains("Model " + step2 + " deleted",
                "Model " + model + " deleted with its 2 checkpoint(s)");
    }

    @Test
    void aCheckpointOfAJobThatMayStillContinueFromItIsNotDeleted() {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        String job = create(alpha, Fixtures.uploadTrainingFile(alpha), 100_000);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50)).until(() -> !alpha
                .get("/v1/fine_tuning/jobs/" + job + "/checkpoints").json().path("data").isEmpty());
        String checkpoint = alpha.get("/v1/fine_tuning/jobs/" + job + "/checkpoints").json().path("data").get(0)
                .path("fine_tuned_model_checkpoint").asString();
        TestApi.Response refused = alpha.delete("/v1/models/" + checkpoint);
        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().path("detail").asString()).contains("which is running")
                .contains("may still continue from it");
        assertThat(alpha.post("/v1/fine_tuning/jobs/" + job + "/cancel", Map.of()).status()).isEqualTo(200);
        awaitStatus(alpha, job, "cancelled");
        assertThat(alpha.delete("/v1/models/" + checkpoint).status()).isEqualTo(200);
        assertThat(alpha.post("/v1/completions", Map.of("model", checkpoint, "prompt", "hi")).status()).isEqualTo(404);
    }

    private static String create(TestApi api, String file, int steps) {
        TestApi.Response created = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama",
                "training_file", file, "suffix", "ckpt", "seed", 3, "method", Map.of("type", "lora", "lora",
                        Map.of("hyperparameters", Map.of("r", 4, "max_steps", steps, "batch_size", 2,
                                "checkpoint_every", 2, "learning_rate", 1e-2)))));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        return created.json().path("id").asString();
    }

    private static JsonNode awaitStatus(TestApi api, String job, String status) {
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(100)).until(() -> List.of("succeeded",
                "failed", "cancelled").contains(api.get("/v1/fine_tuning/jobs/" + job).json().path("status").asString()));
        JsonNode done = api.get("/v1/fine_tuning/jobs/" + job).json();
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo(status);
        return done;
    }

    private static List<String> ids(JsonNode models) {
        return models.valueStream().map(m -> m.path("id").asString()).toList();
    }

    private static JsonNode find(JsonNode models, String id) {
        return models.valueStream().filter(m -> m.path("id").asString().equals(id)).findFirst().orElseThrow();
    }

    private static List<String> entries(byte[] zip) throws IOException {
        List<String> names = new ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                names.add(e.getName());
            }
        }
        return names;
    }
}
