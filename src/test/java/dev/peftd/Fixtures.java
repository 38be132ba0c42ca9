package dev.peftd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.core.model.TestModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Ready-made objects for API tests, created through the API itself. */
public final class Fixtures {

    private Fixtures() {
    }

    /** Registers the runtime's tiny Llama fixture under {@code id} (once per tenant) and waits until it is ready. */
    public static JsonNode readyTinyLlama(TestApi api, String id) {
        if (api.get("/v1/models/" + id).status() == 404) {
            TestApi.Response created = api.post("/v1/models",
                    Map.of("id", id, "source", TestModels.tinyLlama().toUri().toString()));
            assertThat(created.status()).as(created.toString()).isEqualTo(200);
        }
        return awaitModel(api, id, "ready");
    }

    public static JsonNode awaitModel(TestApi api, String id, String status) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .until(() -> !api.get("/v1/models/" + id).json().path("status").asString().equals("loading"));
        JsonNode model = api.get("/v1/models/" + id).json();
        assertThat(model.path("status").asString()).as(model.toString()).isEqualTo(status);
        return model;
    }

    /** A small dataset in all three record formats. */
    public static String trainingJsonl(int copies) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < copies; i++) {
            out.append("{\"text\":\"Once upon a time there was a little robot number ").append(i).append(".\"}\n");
            out.append("{\"prompt\":\"Q: what is ").append(i).append(" plus one?\\nA:\",\"completion\":\" ")
                    .append(i + 1).append("\"}\n");
        }
        return out.toString();
    }

    /**
     * Hyperparameters of a job that trains until it is stopped: 100,000 one-example steps. A test that pauses or
     * cancels a job needs one, since a short job (50 epochs of the tiny file) can finish between the request and the
     * worker seeing it, ending {@code succeeded}.
     */
    public static Map<String, Object> untilStopped() {
        return Map.of("max_steps", 100_000, "batch_size", 1, "checkpoint_every", 1000);
    }

    public static String uploadTrainingFile(TestApi api) {
        TestApi.Response response = api.upload("train.jsonl", trainingJsonl(4));
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.json().path("id").asString();
    }

    /** Every event of a job, oldest first, following the cursor through all pages. */
    public static List<JsonNode> jobEvents(TestApi api, String id) {
        List<JsonNode> newestFirst = new ArrayList<>();
        String after = "";
        while (true) {
            JsonNode page = api.get("/v1/fine_tuning/jobs/" + id + "/events?limit=100" + after).json();
            page.path("data").valueStream().forEach(newestFirst::add);
            if (!page.path("has_more").asBoolean()) {
                java.util.Collections.reverse(newestFirst);
                return newestFirst;
            }
            after = "&after=" + page.path("data").get(page.path("data").size() - 1).path("id").asString();
        }
    }

    /** The text of every {@code message} event of a job, oldest first. */
    public static List<String> jobMessages(TestApi api, String id) {
        return jobEvents(api, id).stream().filter(e -> e.path("type").asString().equals("message"))
                .map(e -> e.path("message").asString()).toList();
    }
}
