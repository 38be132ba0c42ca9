package dev.peftd.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

@ServiceTest
class JobsApiTest {

    @LocalServerPort
    int port;
    @Autowired
    JdbcClient jdbc;
    @Autowired
    Jobs jobs;

    TestApi alpha;
    String trainingFile;

    @BeforeEach
    void setUp() {
        alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        trainingFile = Fixtures.uploadTrainingFile(alpha);
    }

    private Map<String, Object> body(Map<String, Object> method) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", "tiny-llama");
        body.put("training_file", trainingFile);
        body.put("suffix", "unit");
        body.put("seed", 7);
        if (method != null) {
            body.put("method", method);
        }
        return body;
    }

    private static Map<String, Object> method(String type, Map<String, Object> hyperparameters) {
        return Map.of("type", type, type, Map.of("hyperparameters", hyperparameters));
    }

    @Test
    void createReturnsTheJobInOpenAisShapeWithResolvedHyperparameters() {
        TestApi.Response response = alpha.post("/v1/fine_tuning/jobs",
                body(method("lora_plus", Map.of("r", 4, "loraplus_lr_ratio", 8, "max_steps", 2, "batch_size", 2))));
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        JsonNode job = response.json();
        assertThat(job.path("id").asString()).startsWith("ftjob-");
        assertThat(job.path("object").asString()).isEqualTo("fine_tuning.job");
        assertThat(job.path("status").asString()).isIn("queued", "running", "succeeded");
        assertThat(job.path("model").asString()).isEqualTo("tiny-llama");
        assertThat(job.path("training_file").asString()).isEqualTo(trainingFile);
        assertThat(job.path("seed").asLong()).isEqualTo(7);
        assertThat(job.has("fine_tuned_model")).isTrue();
        assertThat(job.has("error")).isTrue();
        JsonNode hp = job.path("method").path("lora_plus").path("hyperparameters");
        assertThat(job.path("method").path("type").asString()).isEqualTo("lora_plus");
        assertThat(hp.path("r").asInt()).isEqualTo(4);
        assertThat(hp.path("loraplus_lr_ratio").asDouble()).isEqualTo(8.0);
        assertThat(hp.path("lora_alpha").asDouble()).isEqualTo(8.0);
        assertThat(hp.path("max_steps").asInt()).isEqualTo(2);
        assertThat(hp.has("vera_d_initial")).isFalse();
        assertThat(job.path("hyperparameters").path("batch_size").asInt()).isEqualTo(2);
        // sized by max_steps: the epochs are known once the run has read its data (2 steps of 2 over 8 records: 1)
        assertThat(job.path("hyperparameters").path("n_epochs").toString()).isIn("\"auto\"", "1");
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + job.path("id").asString()).json().path("id").asString())
                .isEqualTo(job.path("id").asString());
        assertThat(TestApi.beta(port).get("/v1/fine_tuning/jobs/" + job.path("id").asString()).status()).isEqualTo(404);
    }

    @Test
    void supervisedMeansLoraAndOpenAisTopLevelHyperparametersApply() {
        Map<String, Object> body = body(Map.of("type", "supervised"));
        body.put("hyperparameters", Map.of("n_epochs", 3, "batch_size", "auto", "learning_rate_multiplier", 2));
        JsonNode job = alpha.post("/v1/fine_tuning/jobs", body).json();
        assertThat(job.path("method").path("type").asString()).isEqualTo("supervised");   // as asked, not "lora"
        assertThat(job.path("method").has("lora")).isFalse();
        JsonNode hp = job.path("method").path("supervised").path("hyperparameters");
        assertThat(hp.path("n_epochs").asInt()).isEqualTo(3);
        assertThat(hp.path("batch_size").asInt()).isEqualTo(4);
        assertThat(hp.path("learning_rate").asDouble()).isEqualTo(4e-4);
        assertThat(hp.path("learning_rate_multiplier").asDouble()).isEqualTo(2.0);
        assertThat(hp.path("r").asInt()).isEqualTo(8);   // LoRA's settings, which supervised trains
        cancelQuietly(job.path("id").asString());
    }

    /**
     * The defaults come from the core's one factory, as on the command line: LoRA's alpha is PEFT's 8 (it was 2r
     * here), VeRA trains at 2e-3 (it was 2e-4 here) and takes no alpha (it was silently ignored here).
     */
    @Test
    void defaultsAreTheCoresAndVeraTakesNoAlpha() {
        JsonNode lora = alpha.post("/v1/fine_tuning/jobs", body(method("lora", Map.of("r", 16, "n_epochs", 50))))
                .json();
        assertThat(lora.path("method").path("lora").path("hyperparameters").path("lora_alpha").asDouble())
                .isEqualTo(8.0);
        cancelQuietly(lora.path("id").asString());
        JsonNode vera = alpha.post("/v1/fine_tuning/jobs", body(method("vera", Map.of("n_epochs", 50)))).json();
        JsonNode hp = vera.path("method").path("vera").path("hyperparameters");
        assertThat(hp.path("learning_rate").asDouble()).isEqualTo(2e-3);
        assertThat(hp.has("lora_alpha")).isFalse();
        assertThat(vera.path("hyperparameters").path("learning_rate_multiplier").asDouble()).isEqualTo(1.0);
        cancelQuietly(vera.path("id").asString());
        assertRefused(body(method("vera", Map.of("lora_alpha", 16))), "method.vera.hyperparameters.lora_alpha",
                "does not apply to method 'vera'");
        Map<String, Object> topLevel = body(method("lora", Map.of()));
        topLevel.put("hyperparameters", Map.of("r", 4));
        assertRefused(topLevel, "hyperparameters.r", "unknown hyperparameter; known: batch_size");
        Map<String, Object> badTopLevel = body(method("lora", Map.of()));
        badTopLevel.put("hyperparameters", Map.of("n_epochs", 0));
        assertRefused(badTopLevel, "hyperparameters.n_epochs", "must be between 1 and 50, got 0");
    }

    @Test
    void badRequestsNameTheFieldAndLeaveNoJobBehind() {
        long before = jdbc.sql("select count(*) from fine_tuning_jobs").query(Long.class).single();
        assertRefused(body(method("dora", Map.of())), "method.type", "unknown method 'dora'");
        assertRefused(body(method("lora", Map.of("r", 0))), "method.lora.hyperparameters.r", "between 1 and 1024, got 0");
        assertRefused(body(method("lora", Map.of("r", 100_000))), "method.lora.hyperparameters.r", "got 100000");
        assertRefused(body(method("vera", Map.of("r", -1))), "method.vera.hyperparameters.r", "between 1 and 4096");
        assertRefused(body(method("lora", Map.of("r", "eight"))), "method.lora.hyperparameters.r", "must be an integer");
        assertRefused(body(method("lora", Map.of("learning_rate", 5))), "method.lora.hyperparameters.learning_rate",
                "between");
        assertRefused(body(method("lora", Map.of("delta_lambda", 2))), "method.lora.hyperparameters.delta_lambda",
                "only applies to method 'delta_lora'");
        assertRefused(body(method("lora", Map.of("rank", 8))), "method.lora.hyperparameters.rank", "unknown hyperparameter");
        assertRefused(body(method("delta_lora", Map.of("lora_dropout", 0.1))),
                "method.delta_lora.hyperparameters.lora_dropout", "without dropout");
        assertRefused(body(method("lora", Map.of("target_modules", List.of("q_proj", "../x")))),
                "method.lora.hyperparameters.target_modules[1]", "not a module name");
        Map<String, Object> unknownModel = body(null);
        unknownModel.put("model", "gpt-17");
        assertRefused(unknownModel, "model", "no model 'gpt-17'");
        Map<String, Object> noFile = body(null);
        noFile.put("training_file", "file-000000000000000000000000");
        assertRefused(noFile, "training_file", "no file with id");
        Map<String, Object> badSuffix = body(null);
        badSuffix.put("suffix", "has:colon");
        assertRefused(badSuffix, "suffix", "[A-Za-z0-9_-]");
        // another tenant's file is as good as no file
        String betaFile = Fixtures.uploadTrainingFile(TestApi.beta(port));
        Map<String, Object> foreignFile = body(null);
        foreignFile.put("training_file", betaFile);
        assertRefused(foreignFile, "training_file", "no file with id");
        TestApi.Response notJson = alpha.post("/v1/fine_tuning/jobs", "{\"model\": ");
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.contentType()).startsWith("application/problem+json");
        assertThat(jdbc.sql("select count(*) from fine_tuning_jobs").query(Long.class).single()).isEqualTo(before);
    }

    @Test
    void idempotencyKeyReturnsTheSameJobAndRefusesADifferentBody() {
        Map<String, Object> body = body(method("lora", Map.of("max_steps", 1)));
        JsonNode first = alpha.post("/v1/fine_tuning/jobs", body, "job-key-1").json();
        JsonNode replay = alpha.post("/v1/fine_tuning/jobs", body, "job-key-1").json();
        assertThat(replay.path("id").asString()).isEqualTo(first.path("id").asString());
        TestApi.Response different = alpha.post("/v1/fine_tuning/jobs",
                body(method("lora", Map.of("max_steps", 2))), "job-key-1");
        assertThat(different.status()).isEqualTo(422);
        assertThat(different.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/idempotency-key-reused");
        cancelQuietly(first.path("id").asString());
    }

    @Test
    void listPagesNewestFirstWithACursor() {
        TestApi beta = TestApi.beta(port);
        Fixtures.readyTinyLlama(beta, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(beta);
        List<String> created = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            created.add(beta.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file,
                    "method", method("lora", Map.of("max_steps", 1)))).json().path("id").asString());
        }
        JsonNode page1 = beta.get("/v1/fine_tuning/jobs?limit=2").json();
        assertThat(page1.path("data").size()).isEqualTo(2);
        assertThat(page1.path("has_more").asBoolean()).isTrue();
        assertThat(page1.path("data").get(0).path("id").asString()).isEqualTo(created.get(2));
        assertThat(page1.path("data").get(1).path("id").asString()).isEqualTo(created.get(1));
        JsonNode page2 = beta.get("/v1/fine_tuning/jobs?limit=2&after=" + created.get(1)).json();
        assertThat(page2.path("data").get(0).path("id").asString()).isEqualTo(created.get(0));
        assertThat(alpha.get("/v1/fine_tuning/jobs?limit=100").json().path("data").valueStream()
                .map(j -> j.path("id").asString())).doesNotContainAnyElementsOf(created);
        assertThat(beta.get("/v1/fine_tuning/jobs?after=ftjob-nope").status()).isEqualTo(404);
        created.forEach(id -> beta.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()));
    }

    @Test
    void cancelEndsInCancelledAndASecondCancelOfAFinishedJobIsAConflict() {
        String id = alpha.post("/v1/fine_tuning/jobs", body(method("lora", Fixtures.untilStopped()))).json()
                .path("id").asString();
        JsonNode cancelled = alpha.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()).json();
        assertThat(cancelled.path("status").asString()).isIn("cancelled", "cancelling");
        await().atMost(Duration.ofSeconds(60)).until(() ->
                alpha.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString().equals("cancelled"));
        TestApi.Response again = alpha.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of());
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().path("detail").asString()).contains("cancelled");
        assertThat(TestApi.beta(port).post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()).status()).isEqualTo(404);
        JsonNode events = alpha.get("/v1/fine_tuning/jobs/" + id + "/events").json();
        assertThat(events.path("data").valueStream().map(e -> e.path("message").asString()))
                .anyMatch(m -> m.contains("ancel"));
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + id + "/adapter").status()).isEqualTo(409);
    }

    @Test
    void aFileAnUnfinishedJobReadsCannotBeDeleted() {
        String id = alpha.post("/v1/fine_tuning/jobs", body(method("lora", Fixtures.untilStopped()))).json()
                .path("id").asString();
        assertThat(alpha.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString())
                .isIn("queued", "running"); // catalog asks the job feature's FileUsage, wired at construction
        TestApi.Response delete = alpha.delete("/v1/files/" + trainingFile);
        assertThat(delete.status()).isEqualTo(409);
        assertThat(delete.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/conflict");
        assertThat(delete.json().path("detail").asString())
                .isEqualTo("file '" + trainingFile + "' is used by a job that has not finished");
        assertThat(alpha.get("/v1/files/" + trainingFile).status()).isEqualTo(200);
        cancelQuietly(id);
    }

    /**
     * A catastrophic {@code target_modules} regex is refused at submission within its step budget; unguarded, it was
     * accepted and hung the worker that applied it. The request runs under a preemptive timeout so that a regression
     * fails here instead of hanging the build.
     */
    @Test
    void aHostileTargetModulesRegexIsRefusedPromptlyAndQueuesNothing() {
        long before = jdbc.sql("select count(*) from fine_tuning_jobs").query(Long.class).single();
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertRefused(
                body(method("lora", Map.of("target_modules", "(.*){16}Z"))),
                "method.lora.hyperparameters.target_modules", "needs more than 250000 steps"));
        assertRefused(body(method("lora", Map.of("target_modules", "x".repeat(513)))),
                "method.lora.hyperparameters.target_modules", "at most 512");
        assertRefused(body(method("lora", Map.of("target_modules", "(unclosed"))),
                "method.lora.hyperparameters.target_modules", "invalid regular expression");
        assertThat(jdbc.sql("select count(*) from fine_tuning_jobs").query(Long.class).single()).isEqualTo(before);
    }

    /**
     * Submission checks the regex on the base model's own module names (read from its safetensors headers): this one
     * passes on typical names, since its lookahead fails fast without "input_layernorm", and backtracks on tiny-llama's
     * {@code model.layers.0.input_layernorm}.
     */
    @Test
    void aRegexThatExplodesOnlyOnTheModelsOwnNamesIsRefusedAtSubmission() {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertRefused(
                body(method("lora", Map.of("target_modules", "(?=.*input_layernorm)(.*){16}Z"))),
                "method.lora.hyperparameters.target_modules", "input_layernorm"));
    }

    /**
     * The run-time side: a job whose regex got past submission (stored before the guard, or a pattern that only
     * explodes on the model's own module names) fails with a clear error; unguarded, the worker matching it hung
     * and a cancel never landed.
     */
    @Test
    void aHostileRegexReachingAWorkerFailsTheJobInsteadOfHangingIt() {
        TrainingMethod method = new MethodParser(2).parse(TestApi.json().valueToTree(
                method("lora", Map.of("target_modules", "(.*){16}Z", "max_steps", 1))), null);
        String id = dev.peftd.api.Ids.next("ftjob");
        jobs.insert(new NewJob(id, "alpha", "tiny-llama", new NewJob.Datasets(trainingFile, Optional.empty()),
                Optional.empty(), 7, method, Optional.empty(), java.time.Instant.now(), 1, Optional.empty()));
        await().atMost(Duration.ofSeconds(60)).until(() -> alpha.get("/v1/fine_tuning/jobs/" + id).json()
                .path("status").asString().equals("failed"));
        JsonNode error = alpha.get("/v1/fine_tuning/jobs/" + id).json().path("error");
        assertThat(error.path("code").asString()).isEqualTo("invalid_hyperparameters");
        assertThat(error.path("message").asString()).startsWith("target_modules: regular expression '(.*){16}Z' needs");
    }

    /** integrations were silently dropped; peftd reports to no outside tracker, so asking for one is refused. */
    @Test
    void integrationsAreRefusedNamingTheTypeAndAnEmptyListAsksForNothing() {
        Map<String, Object> wandb = body(method("lora", Map.of("max_steps", 1)));
        wandb.put("integrations", List.of(Map.of("type", "wandb", "wandb", Map.of("project", "p"))));
        assertRefused(wandb, "integrations[0].type", "'wandb' is not supported: peftd reports to no outside tracker");
        Map<String, Object> mlflow = body(method("lora", Map.of("max_steps", 1)));
        mlflow.put("integrations", List.of(Map.of("type", "mlflow")));
        assertRefused(mlflow, "integrations[0].type", "'mlflow' is not supported");
        Map<String, Object> notAList = body(method("lora", Map.of("max_steps", 1)));
        notAList.put("integrations", Map.of("type", "wandb"));
        assertRefused(notAList, "integrations", "must be an array");

        Map<String, Object> none = body(method("lora", Map.of("max_steps", 1)));
        none.put("integrations", List.of());
        TestApi.Response created = alpha.post("/v1/fine_tuning/jobs", none);
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        cancelQuietly(created.json().path("id").asString());
    }

    private void assertRefused(Map<String, Object> body, String field, String reason) {
        TestApi.Response response = alpha.post("/v1/fine_tuning/jobs", body);
        assertThat(response.status()).as(field + " -> " + response).isEqualTo(400);
        JsonNode error = response.json().path("errors").get(0);
        assertThat(error.path("field").asString()).as(response.toString()).isEqualTo(field);
        assertThat(error.path("message").asString()).as(response.toString()).contains(reason);
        assertThat(response.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/invalid-request");
    }

    private void cancelQuietly(String id) {
        alpha.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of());
    }
}
