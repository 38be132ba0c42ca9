package dev.peftd.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/**
 * Per-tenant limits on fine-tuning jobs: at most {@code peftd.limits.active-jobs-per-tenant} (10) queued, running or
 * paused jobs, even for concurrent submissions (429 naming the limit), and OpenAI's {@code metadata} limits (a 5 MB value
 * was stored and returned in every list).
 */
@ServiceTest
class JobLimitsTest {

    private static final int LIMIT = 10;

    @LocalServerPort
    int port;
    @Autowired
    JdbcClient jdbc;

    @Test
    void aTenantMayHaveTenActiveJobsEvenWhenItSubmitsThemAllAtOnce() throws Exception {
        TestApi beta = TestApi.beta(port);
        Fixtures.readyTinyLlama(beta, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(beta);
        Map<String, Object> longJob = Map.of("model", "tiny-llama", "training_file", file, "method",
                Map.of("type", "lora", "lora", Map.of("hyperparameters", Fixtures.untilStopped())));
        int alreadyActive = activeJobs("beta");
        List<TestApi.Response> answers = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Callable<TestApi.Response>> submissions = new ArrayList<>();
            for (int i = 0; i < LIMIT + 4; i++) {
                submissions.add(() -> beta.post("/v1/fine_tuning/jobs", longJob));
            }
            for (Future<TestApi.Response> f : clients.invokeAll(submissions)) {
                answers.add(f.get());
            }
        } finally {
            clients.shutdown();
        }
        List<String> created = answers.stream().filter(r -> r.status() == 200).map(r -> r.json().path("id").asString())
                .toList();
        try {
            assertThat(created).as(answers.toString()).hasSize(LIMIT - alreadyActive);
            TestApi.Response refused = answers.stream().filter(r -> r.status() != 200).findFirst().orElseThrow();
            assertThat(refused.status()).isEqualTo(429);
            assertThat(refused.contentType()).startsWith("application/problem+json");
            assertThat(refused.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/quota-exceeded");
            assertThat(refused.json().path("detail").asString()).contains("the limit per tenant is 10");
            assertThat(answers.stream().filter(r -> r.status() != 200).map(TestApi.Response::status))
                    .containsOnly(429);
            assertThat(activeJobs("beta")).isEqualTo(LIMIT);
            assertThat(TestApi.alpha(port).get("/v1/fine_tuning/jobs").status()).as("other tenants are not limited")
                    .isEqualTo(200);
            // paused jobs hold no worker, yet keep their places: resuming one must never pass the limit
            created.forEach(id -> assertThat(beta.post("/v1/fine_tuning/jobs/" + id + "/pause", Map.of()).status())
                    .isEqualTo(200));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(created.stream()
                    .map(id -> beta.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString()))
                    .as("every created job's status").containsOnly("paused"));
            assertThat(beta.post("/v1/fine_tuning/jobs", longJob).status()).as("paused jobs count").isEqualTo(429);
        } finally {
            created.forEach(id -> beta.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> activeJobs("beta") == alreadyActive);
        TestApi.Response again = beta.post("/v1/fine_tuning/jobs", longJob);
        assertThat(again.status()).as("finished jobs free their place").isEqualTo(200);
        beta.post("/v1/fine_tuning/jobs/" + again.json().path("id").asString() + "/cancel", Map.of());
    }

    @Test
    void metadataHasOpenAisLimitsNamingTheField() {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(alpha);
        Map<String, String> seventeen = new LinkedHashMap<>();
        for (int i = 0; i < 17; i++) {
            seventeen.put("k" + i, "v");
        }
        assertRefused(alpha, file, seventeen, "metadata", "at most 16 key/value pairs, got 17");
        assertRefused(alpha, file, Map.of("k".repeat(65), "v"), "metadata", "keys are at most 64 characters");
        assertRefused(alpha, file, Map.of("note", "v".repeat(513)), "metadata.note", "at most 512 characters, got 513");

        Map<String, String> largest = new LinkedHashMap<>();
        for (int i = 0; i < 16; i++) {
            largest.put(String.format("%064d", i), "v".repeat(512));
        }
        TestApi.Response ok = alpha.post("/v1/fine_tuning/jobs", job(file, largest));
        assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
        JsonNode metadata = ok.json().path("metadata");
        assertThat(metadata.size()).isEqualTo(16);
        alpha.post("/v1/fine_tuning/jobs/" + ok.json().path("id").asString() + "/cancel", Map.of());
    }

    private static Map<String, Object> job(String file, Map<String, String> metadata) {
        return Map.of("model", "tiny-llama", "training_file", file, "metadata", metadata,
                "method", Map.of("type", "lora", "lora", Map.of("hyperparameters", Map.of("max_steps", 1))));
    }

    private static void assertRefused(TestApi api, String file, Map<String, String> metadata, String field, String reason) {
        TestApi.Response response = api.post("/v1/fine_tuning/jobs", job(file, metadata));
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        JsonNode error = response.json().path("errors").get(0);
        assertThat(error.path("field").asString()).isEqualTo(field);
        assertThat(error.path("message").asString()).contains(reason);
    }

    private int activeJobs(String tenant) {
        return jdbc.sql("select count(*) from fine_tuning_jobs where tenant = ? and status in "
                        + dev.peftd.queue.JobState.sqlList(dev.peftd.queue.JobState.ACTIVE))
                .param(tenant).query(Integer.class).single();
    }
}
