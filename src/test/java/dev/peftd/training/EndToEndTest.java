package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The whole path over HTTP: upload a dataset, register the tiny Llama, train a LoRA adapter with the real core,
 * follow its events as server-sent events, download the adapter; and cancel a second job mid-run.
 */
@ServiceTest
class EndToEndTest {

    @LocalServerPort
    int port;

    @Test
    void trainsALoraAdapterAndServesItsZip() throws IOException {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        JsonNode created = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file,
                "suffix", "e2e", "seed", 3, "method", Map.of("type", "lora", "lora", Map.of("hyperparameters",
                        Map.of("r", 4, "lora_alpha", 8, "max_steps", 4, "batch_size", 2, "learning_rate", 1e-3,
                                "target_modules", List.of("q_proj", "v_proj")))))).json();
        String id = created.path("id").asString();

        List<JsonNode> streamed = streamEvents(api, id);
        assertThat(streamed).isNotEmpty();
        List<JsonNode> metrics = streamed.stream().filter(e -> e.path("type").asString().equals("metrics")).toList();
        assertThat(metrics).extracting(e -> e.path("data").path("step").asInt()).containsExactly(1, 2, 3, 4);
        assertThat(metrics).allMatch(e -> e.path("data").path("train_loss").asDouble() > 0
                && e.path("data").path("tokens_per_second").asDouble() > 0);

        JsonNode job = api.get("/v1/fine_tuning/jobs/" + id).json();
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        assertThat(job.path("fine_tuned_model").asString()).isEqualTo("ft:tiny-llama:e2e:" + id);
        assertThat(job.path("steps_completed").asInt()).isEqualTo(4);
        assertNoWorkFolderOf(id);
        assertThat(job.path("trained_tokens").asLong()).isPositive();
        assertThat(job.path("finished_at").asLong()).isGreaterThanOrEqualTo(job.path("created_at").asLong());

        JsonNode checkpoints = api.get("/v1/fine_tuning/jobs/" + id + "/checkpoints").json();
        assertThat(checkpoints.path("data").valueStream().map(c -> c.path("step_number").asInt())).containsExactly(4, 2);
        assertThat(checkpoints.path("data").get(0).path("fine_tuned_model_checkpoint").asString())
                .isEqualTo("ft:tiny-llama:e2e:" + id + ":ckpt-step-4");

        TestApi.Response zip = api.get("/v1/fine_tuning/jobs/" + id + "/adapter");
        assertThat(zip.status()).isEqualTo(200);
        assertThat(zip.contentType()).isEqualTo("application/zip");
        Map<String, byte[]> entries = unzip(zip.bytes());
        assertThat(entries).containsKeys("adapter_config.json", "adapter_model.safetensors", "peftd.json");
        JsonNode config = TestApi.json().readTree(entries.get("adapter_config.json"));
        assertThat(config.path("peft_type").asString()).isEqualTo("LORA");
        assertThat(config.path("r").asInt()).isEqualTo(4);
        // the model id users know, not the server folder the base model was read from
        assertThat(config.path("base_model_name_or_path").asString()).isEqualTo("tiny-llama");
        JsonNode sidecar = TestApi.json().readTree(entries.get("peftd.json"));
        assertThat(sidecar.path("base_model").path("name_or_path").asString()).isEqualTo("tiny-llama");
        assertThat(sidecar.path("method").asString()).isEqualTo("lora");
        assertThat(sidecar.path("metrics").path("steps").asInt()).isEqualTo(4);
        assertThat(TestApi.beta(port).get("/v1/fine_tuning/jobs/" + id + "/adapter").status()).isEqualTo(404);

        assertThat(api.get("/v1/models").json().path("data").valueStream().map(m -> m.path("id").asString()))
                .contains("ft:tiny-llama:e2e:" + id);
        assertThat(api.get("/v1/models/ft:tiny-llama:e2e:" + id).json().path("parent").asString()).isEqualTo("tiny-llama");
        String prometheus = TestApi.operator(port).get("/actuator/prometheus").body();
        assertThat(prometheus).contains("peftd_job_outcomes_total{outcome=\"succeeded\"}")
                .contains("peftd_training_steps_total").contains("peftd_worker_busy{");
    }

    @Test
    void aRunningJobStopsAtAStepBoundaryWhenCancelled() {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        String id = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file,
                "method", Map.of("type", "lora", "lora", Map.of("hyperparameters",
                        Map.of("r", 2, "max_steps", 100000, "batch_size", 1, "checkpoint_every", 1000))))).json()
                .path("id").asString();
        await().atMost(Duration.ofSeconds(120)).until(() ->
                api.get("/v1/fine_tuning/jobs/" + id).json().path("steps_completed").asInt() >= 2);
        JsonNode cancelling = api.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()).json();
        assertThat(cancelling.path("status").asString()).isIn("cancelling", "cancelled");
        await().atMost(Duration.ofSeconds(60)).until(() ->
                api.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString().equals("cancelled"));
        JsonNode job = api.get("/v1/fine_tuning/jobs/" + id).json();
        assertThat(job.path("steps_completed").asInt()).isLessThan(100000);
        assertThat(job.path("fine_tuned_model").isNull()).isTrue();
        assertNoWorkFolderOf(id);
        assertThat(api.get("/v1/fine_tuning/jobs/" + id + "/events?limit=100").json().path("data").valueStream()
                .map(e -> e.path("message").asString())).contains("The job was cancelled");
    }

    /** The run's work folder (copies of the tenant's training data) is gone once the job has ended. */
    private static void assertNoWorkFolderOf(String id) {
        try (java.util.stream.Stream<Path> folders = Files.list(Path.of("target/test-peftd-data/work"))) {
            assertThat(folders.map(f -> f.getFileName().toString())).noneMatch(name -> name.startsWith(id));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Reads {@code ?stream=true} until {@code [DONE]}; returns the events in order. */
    private List<JsonNode> streamEvents(TestApi api, String id) {
        HttpResponse<java.util.stream.Stream<String>> response;
        try {
            response = java.net.http.HttpClient.newHttpClient().send(
                    api.request("/v1/fine_tuning/jobs/" + id + "/events?stream=true").timeout(Duration.ofMinutes(3))
                            .build(), HttpResponse.BodyHandlers.ofLines());
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        boolean done = false;
        for (String line : (Iterable<String>) response.body()::iterator) {
            if (line.startsWith("data:")) {
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) {
                    done = true;
                    break;
                }
                events.add(TestApi.json().readTree(data));
            }
        }
        assertThat(done).as("stream ended with [DONE]").isTrue();
        return events;
    }

    private static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        Map<String, byte[]> entries = new HashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                entries.put(entry.getName(), in.readAllBytes());
            }
        }
        return entries;
    }
}
