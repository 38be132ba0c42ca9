package dev.peftd.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.model.TestModels;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/** Data that does not fit the base model is refused when the job is created, naming the user's file and line. */
@ServiceTest
class DatasetChecksTest {

    /** A plain record, then a conversation on line 2. */
    private static final String CHAT = """
            {"text":"a plain record"}
            {"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}
            """;

    @LocalServerPort
    int port;
    @Autowired
    Jobs jobs;

    TestApi alpha;

    @BeforeEach
    void setUp() {
        alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");   // its tokenizer has no chat template
    }

    @Test
    void chatDataOnABaseWithoutAChatTemplateIsRefusedNamingTheUsersFileAndLine() {
        String chat = upload(CHAT);
        String plain = Fixtures.uploadTrainingFile(alpha);

        JsonNode training = refused(body("tiny-llama", chat, null, Map.of()), "training_file");
        assertThat(training.path("message").asString()).startsWith(chat + " line 2: \"messages\" records need a chat"
                + " template, and base model 'tiny-llama' has none");
        JsonNode validation = refused(body("tiny-llama", plain, chat, Map.of()), "validation_file");
        assertThat(validation.path("message").asString()).startsWith(chat + " line 2: ");
        assertThat(validation.path("message").asString()).doesNotContain("train.jsonl", "validation.jsonl", "/work");
    }

    @Test
    void chatDataOnABaseWithAChatTemplateIsAccepted() {
        if (alpha.get("/v1/models/tiny-qwen2").status() == 404) {
            alpha.post("/v1/models", Map.of("id", "tiny-qwen2", "source", TestModels.tinyQwen2().toUri().toString()));
        }
        Fixtures.awaitModel(alpha, "tiny-qwen2", "ready");
        TestApi.Response created = alpha.post("/v1/fine_tuning/jobs", body("tiny-qwen2", upload(CHAT), null,
                Map.of("max_steps", 1)));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        alpha.post("/v1/fine_tuning/jobs/" + created.json().path("id").asString() + "/cancel", Map.of());
    }

    /**
     * As the run does: a record longer than the context is cut to it and kept when something is left to learn
     * (plain text); a completion that falls wholly past the cut leaves nothing, and a file of only such records
     * trains on nothing, so it is refused now rather than failing in the worker.
     */
    @Test
    void recordsLongerThanTheContextAreCutAsTheRunCutsThemAndAFileLeftWithNothingToLearnIsRefused() {
        String longText = upload("{\"text\":\"" + "word ".repeat(60) + "\"}\n");
        TestApi.Response cut = alpha.post("/v1/fine_tuning/jobs",
                body("tiny-llama", longText, null, Map.of("max_seq_length", 8, "max_steps", 1)));
        assertThat(cut.status()).as(cut.toString()).isEqualTo(200);
        alpha.post("/v1/fine_tuning/jobs/" + cut.json().path("id").asString() + "/cancel", Map.of());

        String longPrompt = upload("{\"prompt\":\"" + "word ".repeat(60) + "\",\"completion\":\" yes\"}\n");
        JsonNode error = refused(body("tiny-llama", longPrompt, null, Map.of("max_seq_length", 8)), "training_file");
        assertThat(error.path("message").asString()).isEqualTo(longPrompt
                + ": no usable example (1 had no loss target within max_seq_len 8)");
    }

    /** A record the checks at creation do not reach (a job stored without them here) fails naming the user's file. */
    @Test
    void aRunRefusingItsDataNamesTheUsersFileNotTheWorkersCopy() {
        String chat = upload(CHAT);
        TrainingMethod method = new MethodParser(0).parse(TestApi.json().valueToTree(
                Map.of("type", "lora", "lora", Map.of("hyperparameters", Map.of("max_steps", 1)))), null);
        String id = dev.peftd.api.Ids.next("ftjob");
        jobs.insert(new NewJob(id, "alpha", "tiny-llama", new NewJob.Datasets(chat, Optional.empty()),
                Optional.empty(), 7, method, Optional.empty(), Instant.now(), 1, Optional.empty()));
        await().atMost(Duration.ofSeconds(60)).until(() -> alpha.get("/v1/fine_tuning/jobs/" + id).json()
                .path("status").asString().equals("failed"));
        JsonNode error = alpha.get("/v1/fine_tuning/jobs/" + id).json().path("error");
        assertThat(error.path("code").asString()).isEqualTo("invalid_training_file");
        assertThat(error.path("message").asString()).startsWith("training_file " + chat + " line 2: \"messages\" needs"
                + " a chat template");
    }

    private String upload(String jsonl) {
        TestApi.Response response = alpha.upload("data.jsonl", jsonl);
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.json().path("id").asString();
    }

    private static Map<String, Object> body(String model, String trainingFile, String validationFile,
                                            Map<String, Object> hyperparameters) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        body.put("training_file", trainingFile);
        if (validationFile != null) {
            body.put("validation_file", validationFile);
        }
        body.put("method", Map.of("type", "lora", "lora", Map.of("hyperparameters", hyperparameters)));
        return body;
    }

    /** The refusal's one field error, after checking it is a 400 naming {@code field}. */
    private JsonNode refused(Map<String, Object> body, String field) {
        TestApi.Response response = alpha.post("/v1/fine_tuning/jobs", body);
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        JsonNode error = response.json().path("errors").get(0);
        assertThat(error.path("field").asString()).as(response.toString()).isEqualTo(field);
        return error;
    }
}
