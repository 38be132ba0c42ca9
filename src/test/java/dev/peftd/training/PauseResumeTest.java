package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.worker.WorkerPool;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/**
 * OpenAI's pause and resume: a running job checkpoints at its next step boundary and gives its worker back; resumed,
 * it continues from that checkpoint and every loss after the pause, and the adapter it ends with, are bit for bit
 * those of an uninterrupted run. A queued job is parked at once. Wrong states are 409s naming the state; another
 * tenant sees nothing.
 */
@ServiceTest
class PauseResumeTest {

    /** Enough steps that the pause lands mid-run; each is a few milliseconds on the tiny model. */
    static final int STEPS = 120;

    @LocalServerPort
    int port;
    @Autowired
    JdbcClient jdbc;
    @Autowired
    WorkerPool pool;

    @Test
    void aPausedRunResumesFromItsPauseCheckpointWithBitIdenticalLosses() throws IOException {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        String reference = create(api, file);
        awaitStatus(api, reference, "succeeded");

        String paused = create(api, file);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(5))
                .until(() -> job(api, paused).path("steps_completed").asInt() >= 3);
        TestApi.Response pause = api.post("/v1/fine_tuning/jobs/" + paused + "/pause", Map.of());
        assertThat(pause.status()).as(pause.toString()).isEqualTo(200);
        assertThat(pause.json().path("status").asString()).isIn("pausing", "paused");
        awaitStatus(api, paused, "paused");

        // it checkpointed exactly where it stopped, holds no lease, and no worker runs it
        JsonNode atPause = job(api, paused);
        int k = atPause.path("steps_completed").asInt();
        assertThat(k).as("paused mid-run").isBetween(3, STEPS - 1);
        assertThat(jdbc.sql("select checkpoint_step from fine_tuning_jobs where id = ?").params(paused)
                .query(Integer.class).single()).isEqualTo(k);
        assertThat(jdbc.sql("select lease_owner is null and lease_token is null from fine_tuning_jobs where id = ?")
                .params(paused).query(Boolean.class).single()).isTrue();
        assertThat(pool.runs(paused)).as("its worker was given back").isFalse();
        assertThat(api.get("/v1/fine_tuning/jobs/" + paused + "/checkpoints").json().path("data")
                .valueStream().map(c -> c.path("step_number").asInt())).contains(k);
        // a paused job stays paused (nothing claims it) and refuses what only a running or paused job allows
        TestApi.Response again = api.post("/v1/fine_tuning/jobs/" + paused + "/pause", Map.of());
        assertThat(again.status()).as("pausing a paused job changes nothing").isEqualTo(200);
        assertThat(again.json().path("status").asString()).isEqualTo("paused");
        assertThat(TestApi.beta(port).post("/v1/fine_tuning/jobs/" + paused + "/resume", Map.of()).status())
                .isEqualTo(404);

        TestApi.Response resume = api.post("/v1/fine_tuning/jobs/" + paused + "/resume", Map.of());
        assertThat(resume.status()).as(resume.toString()).isEqualTo(200);
        assertThat(resume.json().path("status").asString()).isIn("queued", "running", "succeeded");
        awaitStatus(api, paused, "succeeded");

        Map<Integer, Double> expected = losses(api, reference);
        Map<Integer, Double> actual = losses(api, paused);
        assertThat(expected).hasSize(STEPS);
        assertThat(actual).as("one loss per step: the resumed run repeated no step").hasSize(STEPS);
        for (int step = k + 1; step <= STEPS; step++) {
            // exact equality: the resumed run computes the same floats, not merely close ones
            assertThat(actual.get(step)).as("loss at step " + step).isEqualTo(expected.get(step));
        }
        assertThat(adapterWeights(api, paused)).isEqualTo(adapterWeights(api, reference));
        assertThat(Fixtures.jobMessages(api, paused))
                .anyMatch(m -> m.startsWith("Pause requested"))
                .anyMatch(m -> m.startsWith("The job is paused"))
                .anyMatch(m -> m.equals("Job resumed; queued to continue from the checkpoint at step " + k))
                .anyMatch(m -> m.contains("resuming from the checkpoint at step " + k));
        assertThat(job(api, paused).path("attempts").asInt()).as("a pause spends no attempt").isEqualTo(1);

        // finished: neither pause nor resume applies, and the 409 names the state
        assertThat(conflict(api.post("/v1/fine_tuning/jobs/" + paused + "/pause", Map.of())))
                .contains("is succeeded").contains("cannot be paused");
        assertThat(conflict(api.post("/v1/fine_tuning/jobs/" + paused + "/resume", Map.of())))
                .contains("is succeeded").contains("only a paused job");
    }

    @Test
    void aQueuedJobIsParkedAtOnceAndAPausedJobCanBeCancelled() {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        pool.stop();   // nothing claims: the jobs stay queued until paused
        String parked;
        String cancelled;
        try {
            parked = create(api, file);
            cancelled = create(api, file);
            assertThat(conflict(api.post("/v1/fine_tuning/jobs/" + parked + "/resume", Map.of())))
                    .contains("is queued").contains("only a paused job");
            assertThat(TestApi.beta(port).post("/v1/fine_tuning/jobs/" + parked + "/pause", Map.of()).status())
                    .isEqualTo(404);
            for (String id : new String[] {parked, cancelled}) {
                TestApi.Response pause = api.post("/v1/fine_tuning/jobs/" + id + "/pause", Map.of());
                assertThat(pause.status()).as(pause.toString()).isEqualTo(200);
                assertThat(pause.json().path("status").asString()).isEqualTo("paused");
            }
        } finally {
            pool.start();
        }
        // the workers are back and poll the queue; a paused job is not theirs to claim
        await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(3))
                .until(() -> job(api, parked).path("status").asString().equals("paused"));
        assertThat(job(api, parked).path("attempts").asInt()).isZero();

        TestApi.Response cancel = api.post("/v1/fine_tuning/jobs/" + cancelled + "/cancel", Map.of());
        assertThat(cancel.json().path("status").asString()).as(cancel.toString()).isEqualTo("cancelled");
        assertThat(Fixtures.jobMessages(api, cancelled)).contains("Job cancelled while paused");
        assertThat(conflict(api.post("/v1/fine_tuning/jobs/" + cancelled + "/resume", Map.of())))
                .contains("is cancelled");

        assertThat(api.post("/v1/fine_tuning/jobs/" + parked + "/resume", Map.of()).status()).isEqualTo(200);
        assertThat(Fixtures.jobMessages(api, parked)).contains("Job paused while queued; resume it to queue it again",
                "Job resumed; queued to continue from the first step");
        awaitStatus(api, parked, "succeeded");
        assertThat(job(api, parked).path("steps_completed").asInt()).isEqualTo(STEPS);
    }

    /** The problem's detail of a 409, or null when the answer was not a 409. */
    private static String conflict(TestApi.Response response) {
        if (response.status() != 409) {
            return null;
        }
        assertThat(response.contentType()).startsWith("application/problem+json");
        return response.json().path("detail").asString();
    }

    private static String create(TestApi api, String file) {
        TestApi.Response created = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama",
                "training_file", file, "seed", 11, "method", Map.of("type", "lora", "lora", Map.of("hyperparameters",
                        Map.of("r", 2, "lora_dropout", 0.1, "max_steps", STEPS, "batch_size", 1,
                                "checkpoint_every", 50, "learning_rate", 1e-3)))));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        return created.json().path("id").asString();
    }

    private static JsonNode job(TestApi api, String id) {
        return api.get("/v1/fine_tuning/jobs/" + id).json();
    }

    private static void awaitStatus(TestApi api, String id, String status) {
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(20)).until(() -> {
            String now = job(api, id).path("status").asString();
            assertThat(now).as(id).isNotIn("failed", "cancelled");
            return now.equals(status);
        });
    }

    /** train_loss of every metrics event, by step. */
    private static Map<Integer, Double> losses(TestApi api, String id) {
        Map<Integer, Double> losses = new LinkedHashMap<>();
        for (JsonNode event : Fixtures.jobEvents(api, id)) {
            if (event.path("type").asString().equals("metrics")) {
                Double previous = losses.put(event.path("data").path("step").asInt(),
                        event.path("data").path("train_loss").asDouble());
                assertThat(previous).as("step " + event.path("data").path("step") + " reported twice").isNull();
            }
        }
        return losses;
    }

    /** The bytes of adapter_model.safetensors in the job's adapter zip. */
    private static byte[] adapterWeights(TestApi api, String id) throws IOException {
        byte[] zip = api.get("/v1/fine_tuning/jobs/" + id + "/adapter").bytes();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.getName().equals("adapter_model.safetensors")) {
                    return in.readAllBytes();
                }
            }
        }
        throw new AssertionError("no adapter_model.safetensors in the adapter of " + id);
    }
}
