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
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/**
 * A job whose worker is lost, and a job whose worker shuts down gracefully (checkpointing the steps it did first),
 * both resume from their last checkpoint and end exactly where an uninterrupted run of the same job ends: same steps,
 * same trained tokens, same final loss.
 */
@ServiceTest
class ResumeTest {

    static final int STEPS = 48;

    @LocalServerPort
    int port;
    @Autowired
    JdbcClient jdbc;
    @Autowired
    WorkerPool pool;

    @Test
    void interruptedRunsResumeFromTheirCheckpointAndMatchAnUninterruptedRun() throws IOException {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);

        String reference = create(api, file);
        awaitStatus(api, reference, "succeeded");

        // 1. the worker is lost: its lease expires (as when the process dies); the reaper re-queues the job
        String lost = create(api, file);
        awaitCheckpoint(lost, 4);
        jdbc.sql("update fine_tuning_jobs set lease_expires_at = now() - interval '1 second' where id = ?")
                .params(lost).update();
        pool.reapNow();
        awaitStatus(api, lost, "succeeded");

        // 2. graceful shutdown: the pool stops, the job goes back to the queue, the pool starts again
        String shutdown = create(api, file);
        awaitCheckpoint(shutdown, 4);
        pool.stop();
        assertThat(status(api, shutdown)).isEqualTo("queued");
        // the stopping run checkpointed the steps it had done, so the next attempt repeats none of them
        int reached = api.get("/v1/fine_tuning/jobs/" + shutdown).json().path("steps_completed").asInt();
        assertThat(checkpointStep(shutdown)).as("checkpoint step after shutdown").isEqualTo(reached);
        pool.start();
        awaitStatus(api, shutdown, "succeeded");

        JsonNode expected = sidecar(api, reference);
        for (String id : List.of(lost, shutdown)) {
            JsonNode job = api.get("/v1/fine_tuning/jobs/" + id).json();
            assertThat(job.path("steps_completed").asInt()).isEqualTo(STEPS);
            assertThat(job.path("trained_tokens").asLong())
                    .isEqualTo(api.get("/v1/fine_tuning/jobs/" + reference).json().path("trained_tokens").asLong());
            JsonNode metrics = sidecar(api, id);
            assertThat(metrics.path("steps").asInt()).isEqualTo(STEPS);
            assertThat(metrics.path("final_loss").asDouble())
                    .isCloseTo(expected.path("final_loss").asDouble(), org.assertj.core.data.Offset.offset(1e-5));
            assertThat(Fixtures.jobMessages(api, id)).anyMatch(m -> m.contains("resuming from the checkpoint at step"));
        }
        assertThat(api.get("/v1/fine_tuning/jobs/" + lost).json().path("attempts").asInt()).isEqualTo(2);
        assertThat(Fixtures.jobMessages(api, lost)).anyMatch(m -> m.contains("stopped responding; re-queued"));
        assertThat(api.get("/v1/fine_tuning/jobs/" + shutdown).json().path("attempts").asInt()).isEqualTo(1);
        assertThat(Fixtures.jobMessages(api, shutdown)).anyMatch(m -> m.contains("shutting down"));
    }

    private String create(TestApi api, String file) {
        return api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file, "seed", 11,
                "method", Map.of("type", "lora", "lora", Map.of("hyperparameters", Map.of("r", 2, "max_steps", STEPS,
                        "batch_size", 1, "checkpoint_every", 4, "learning_rate", 1e-3)))))
                .json().path("id").asString();
    }

    private void awaitCheckpoint(String id, int step) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20)).until(() -> checkpointStep(id) >= step);
    }

    private int checkpointStep(String id) {
        return jdbc.sql("select coalesce(checkpoint_step, 0) from fine_tuning_jobs where id = ?").params(id)
                .query(Integer.class).single();
    }

    private static void awaitStatus(TestApi api, String id, String status) {
        await().atMost(Duration.ofSeconds(180)).until(() -> {
            String now = status(api, id);
            assertThat(now).as(id).isNotIn("failed", "cancelled");
            return now.equals(status);
        });
    }

    private static String status(TestApi api, String id) {
        return api.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString();
    }

    /** The {@code metrics} of peftd.json in the adapter zip. */
    private static JsonNode sidecar(TestApi api, String id) throws IOException {
        byte[] zip = api.get("/v1/fine_tuning/jobs/" + id + "/adapter").bytes();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.getName().equals("peftd.json")) {
                    return TestApi.json().readTree(in.readAllBytes()).path("metrics");
                }
            }
        }
        throw new AssertionError("no peftd.json in the adapter of " + id);
    }
}
