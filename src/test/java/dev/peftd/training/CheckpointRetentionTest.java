package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.training.CheckpointLog.Saved;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * Checkpoints are pruned as a job runs (the shared context checkpoints every 2 steps and keeps the default 3): the
 * newest three and the lowest-loss one stay, listed and in the store; every other one is gone from both.
 */
@ServiceTest
class CheckpointRetentionTest {

    @LocalServerPort
    int port;
    @Autowired
    ArtifactStore store;

    @Test
    void aTenStepJobKeepsItsNewestThreeCheckpointsAndItsBest() throws IOException {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(api);
        String id = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file, "seed", 5,
                "method", Map.of("type", "lora", "lora", Map.of("hyperparameters", Map.of("r", 2, "max_steps", 10,
                        "batch_size", 1, "learning_rate", 1e-3))))).json().path("id").asString();
        await().atMost(Duration.ofSeconds(180)).until(() -> {
            String status = api.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString();
            assertThat(status).isNotIn("failed", "cancelled");
            return status.equals("succeeded");
        });

        // the loss recorded with each checkpoint is that of its step, as the metrics events report it
        Map<Integer, Double> lossAtCheckpoint = new TreeMap<>();
        api.get("/v1/fine_tuning/jobs/" + id + "/events?limit=100").json().path("data").valueStream()
                .filter(e -> e.path("type").asString().equals("metrics"))
                .filter(e -> e.path("data").path("step").asInt() % 2 == 0)
                .forEach(e -> lossAtCheckpoint.put(e.path("data").path("step").asInt(),
                        e.path("data").path("train_loss").asDouble()));
        assertThat(lossAtCheckpoint).containsOnlyKeys(2, 4, 6, 8, 10);
        int best = lossAtCheckpoint.entrySet().stream()   // a tie goes to the later step, as in the policy
                .min(Map.Entry.<Integer, Double>comparingByValue().thenComparing(Map.Entry.comparingByKey(
                        Comparator.reverseOrder()))).orElseThrow().getKey();
        Set<Integer> expected = new TreeSet<>(List.of(6, 8, 10, best));

        JsonNode listed = api.get("/v1/fine_tuning/jobs/" + id + "/checkpoints").json();
        Set<Integer> listedSteps = listed.path("data").valueStream().map(c -> c.path("step_number").asInt())
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(listedSteps).isEqualTo(expected);
        assertThat(stepsInStore(id)).isEqualTo(expected);
    }

    @Test
    void theBestCheckpointOutlivesTheNewest() {
        List<Saved> all = checkpoints(1.0, 0.5, 0.9, 0.8, 0.7);   // steps 2..10, best at 4

        assertThat(steps(CheckpointRetention.expired(all, 3, 10))).containsExactly(2);
        assertThat(steps(CheckpointRetention.expired(all, 1, 10))).containsExactly(2, 6, 8);
        assertThat(steps(CheckpointRetention.expired(all, 5, 10))).isEmpty();
    }

    @Test
    void withoutLossesTheNewestAndTheResumePointStay() {
        List<Saved> all = checkpoints(null, null, null, null, null);

        assertThat(steps(CheckpointRetention.expired(all, 2, 10))).containsExactly(2, 4, 6);
        // the checkpoint just written is kept even if a newer one exists (another owner raced ahead)
        assertThat(steps(CheckpointRetention.expired(all, 2, 4))).containsExactly(2, 6);
    }

    @Test
    void whenEvaluationsRanTheBestIsTheLowestValidationLossNotTrainingLoss() {
        // steps 2..10: training loss lowest at 10 (overfitting), validation loss lowest at 4
        List<Saved> all = new ArrayList<>(List.of(
                new Saved(10, 0.1, 2.0, "k10/"), new Saved(8, 0.2, 1.8, "k8/"), new Saved(6, 0.3, 1.5, "k6/"),
                new Saved(4, 0.6, 1.2, "k4/"), new Saved(2, 0.9, null, "k2/")));

        assertThat(steps(CheckpointRetention.expired(all, 1, 10))).containsExactly(2, 6, 8);
    }

    @Test
    void aTieForBestKeepsTheLaterCheckpoint() {
        List<Saved> all = checkpoints(0.5, 0.5, 0.9, 0.8, 0.7);

        assertThat(steps(CheckpointRetention.expired(all, 1, 10))).containsExactly(2, 6, 8);
    }

    private Set<Integer> stepsInStore(String id) throws IOException {
        String prefix = ObjectKeys.checkpoints("alpha", id);
        return store.list(prefix).stream()
                .map(key -> key.substring(prefix.length(), key.indexOf('/', prefix.length())))
                .map(folder -> Integer.parseInt(folder.substring("step-".length())))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** Checkpoints at steps 2, 4, 6, … with these losses, newest first as the repository lists them. */
    private static List<Saved> checkpoints(Double... losses) {
        List<Saved> all = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            int step = 2 * (i + 1);
            all.add(new Saved(step, losses[i], null, "jobs/a/ftjob-x/checkpoints/" + step + "/"));
        }
        all.sort(Comparator.comparingInt(Saved::stepNumber).reversed());
        return all;
    }

    private static List<Integer> steps(List<Saved> checkpoints) {
        return checkpoints.stream().map(Saved::stepNumber).sorted().toList();
    }
}
