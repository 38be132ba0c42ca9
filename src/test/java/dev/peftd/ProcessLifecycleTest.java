package dev.peftd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.core.model.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.util.FileSystemUtils;
import tools.jackson.databind.JsonNode;

/**
 * Real peftd processes (child JVMs with the embedded PostgreSQL) on one data directory, and real signals. A JVM start
 * costs 10-20 s here, so the three checks share processes and run in order: the first process trains a long job while
 * a second process is refused; the first then gets a SIGTERM and a third process resumes the job; finally the third
 * process loses its database.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProcessLifecycleTest {

    private static final Duration START = Duration.ofSeconds(150);
    private static final String[] SETTINGS = {
            "peftd.models.roots=" + TestModels.tinyLlama().getParent(),
            "peftd.health.db-liveness-grace=3s",
            "peftd.health.db-check-interval=500ms"};

    private final Path dataDir = Path.of("target", "lifecycle-test", UUID.randomUUID().toString()).toAbsolutePath();
    private final Path logs = Path.of("target", "lifecycle-test", "logs").toAbsolutePath();
    private final List<ChildPeftd> children = new ArrayList<>();
    private ChildPeftd first;
    private ChildPeftd third;
    private String job;

    @BeforeAll
    void firstProcessTrainsALongJob() throws IOException {
        first = start("first");
        first.awaitReady(START);
        TestApi api = first.api();
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        // checkpoint_every far beyond the steps it will do: the only checkpoint is the one written at shutdown
        TestApi.Response created = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file,
                "seed", 5, "method", Map.of("type", "lora", "lora", Map.of("hyperparameters", Map.of("r", 2,
                        "max_steps", 100000, "batch_size", 1, "checkpoint_every", 1000)))));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        job = created.json().path("id").asString();
        awaitStepsAtLeast(api, 2);
    }

    @Test
    @Order(1)
    void aSecondProcessOnTheSameDataDirExitsWithAClearMessageAndLeavesTheFirstRunning() throws Exception {
        ChildPeftd second = start("second");
        assertThat(second.process().waitFor(90, TimeUnit.SECONDS)).as("second process exits").isTrue();

        assertThat(second.process().exitValue()).isNotZero();
        assertThat(second.output())
                .contains("another peftd process (pid " + first.process().pid() + ") holds the data directory "
                        + dataDir + "; only one process may use a data directory")
                .doesNotContain("still holds");   // it never went near the first one's PostgreSQL
        // the first process kept its database: it answers and its job keeps writing progress
        int steps = awaitStepsAtLeast(first.api(), 1);
        awaitStepsAtLeast(first.api(), steps + 2);
        assertThat(first.api().get("/v1/fine_tuning/jobs").status()).isEqualTo(200);
    }

    @Test
    @Order(2)
    void sigtermCheckpointsAndHandsTheJobBackBeforeTheDatabaseStopsAndTheNextProcessResumesThere() throws Exception {
        assertThat(first.terminate(Duration.ofSeconds(90))).as("exit code after SIGTERM").isEqualTo(128 + 15);
        Path stale = Files.createDirectories(dataDir.resolve("work").resolve("ftjob-stale-12345678"));
        Files.writeString(stale.resolve("train.jsonl"), "{\"text\":\"a tenant's data\"}\n");

        third = start("third");
        third.awaitReady(START);
        assertThat(stale).as("stale work folder removed at start-up").doesNotExist();
        TestApi api = third.api();
        await().atMost(Duration.ofSeconds(60)).until(() ->
                Fixtures.jobMessages(api, job).stream().anyMatch(m -> m.contains("resuming from the checkpoint")));

        List<JsonNode> events = Fixtures.jobEvents(api, job);
        int handedBack = indexOfMessage(events, "Worker shutting down; the job goes back to the queue");
        assertThat(handedBack).as("hand-back event").isPositive();
        int reached = events.subList(0, handedBack).stream().filter(e -> e.path("type").asString().equals("metrics"))
                .mapToInt(e -> e.path("data").path("step").asInt()).max().orElseThrow();
        List<String> messages = Fixtures.jobMessages(api, job);
        assertThat(messages).contains("Checkpoint saved at step " + reached)
                .anyMatch(m -> m.endsWith("resuming from the checkpoint at step " + reached))
                .noneMatch(m -> m.contains("stopped responding"));
        JsonNode checkpoints = api.get("/v1/fine_tuning/jobs/" + job + "/checkpoints").json();
        assertThat(checkpoints.path("data").valueStream().map(c -> c.path("step_number").asInt())).contains(reached);
    }

    @Test
    @Order(3)
    void aLostDatabaseFailsApiCallsFastWithA503AndTakesReadinessThenLivenessDown() throws Exception {
        TestApi api = third.api();
        api.post("/v1/fine_tuning/jobs/" + job + "/cancel", Map.of());   // frees the CPU; its outcome is not under test
        ChildPeftd.stopPostgres(dataDir);   // as the second process used to do

        assertThat(third.status("/actuator/health/liveness")).as("liveness within the grace").contains(200);
        long started = System.nanoTime();
        TestApi.Response call = api.get("/v1/fine_tuning/jobs");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertThat(call.status()).as(call.toString()).isEqualTo(503);
        assertThat(call.contentType()).startsWith("application/problem+json");
        assertThat(call.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/database-unavailable");
        assertThat(millis).as("milliseconds until the 503").isLessThan(10_000);
        assertThat(third.status("/actuator/health/readiness")).contains(503);
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250))
                .until(() -> third.status("/actuator/health/liveness").equals(Optional.of(503)));
    }

    @AfterAll
    void stopEverything() throws Exception {
        for (ChildPeftd child : children) {
            child.close();
        }
        ChildPeftd.stopPostgres(dataDir);
        FileSystemUtils.deleteRecursively(dataDir);
    }

    private ChildPeftd start(String name) throws IOException {
        ChildPeftd child = ChildPeftd.start(dataDir, logs.resolve(name + ".log"), SETTINGS);
        children.add(child);
        return child;
    }

    private int awaitStepsAtLeast(TestApi api, int steps) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() ->
                api.get("/v1/fine_tuning/jobs/" + job).json().path("steps_completed").asInt() >= steps);
        return api.get("/v1/fine_tuning/jobs/" + job).json().path("steps_completed").asInt();
    }

    private static int indexOfMessage(List<JsonNode> events, String message) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).path("message").asString().equals(message)) {
                return i;
            }
        }
        return -1;
    }
}
