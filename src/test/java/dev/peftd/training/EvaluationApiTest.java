package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.IndependentScore;
import dev.peftd.core.train.data.JsonlDataset;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The evaluation loop through the API: metric events in OpenAI's shape whose validation loss is that of the adapter
 * (recomputed apart from the training code), the results CSV as a file of the job's tenant whose rows are the step
 * events, and early stopping with {@code keep_best} on a real model.
 */
@ServiceTest
class EvaluationApiTest {

    @LocalServerPort
    int port;
    @Autowired
    ArtifactStore store;
    @TempDir
    Path tmp;

    @Test
    void metricEventsCarryValidationNumbersAndTheResultsCsvRepeatsThem() throws IOException {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String train = Fixtures.uploadTrainingFile(api);
        String validationText = Fixtures.trainingJsonl(2).replace("robot", "kettle").replace("plus", "minus");
        String validation = api.upload("valid.jsonl", validationText).json().path("id").asString();
        String id = createJob(api, "tiny-llama", train, validation, Map.of("r", 4, "max_steps", 4, "batch_size", 2,
                "learning_rate", 1e-2, "eval_every", 2));
        JsonNode job = awaitSucceeded(api, id);

        List<JsonNode> metrics = Fixtures.jobEvents(api, id).stream()
                .filter(e -> e.path("type").asString().equals("metrics")).map(e -> e.path("data")).toList();
        List<JsonNode> steps = metrics.stream().filter(d -> d.has("train_loss")).toList();
        assertThat(steps).extracting(d -> d.path("step").asInt()).containsExactly(1, 2, 3, 4);
        for (JsonNode d : steps) {
            assertThat(d.path("total_steps").asInt()).isEqualTo(4);
            assertThat(d.path("train_loss").asDouble()).isPositive();
            assertThat(d.path("train_mean_token_accuracy").asDouble()).isBetween(0.0, 1.0);
            boolean evaluated = d.path("step").asInt() % 2 == 0;
            assertThat(d.has("valid_loss")).as("step %s", d.path("step")).isEqualTo(evaluated);
            if (evaluated) {
                assertThat(d.path("valid_loss").asDouble()).isPositive();
                assertThat(d.path("valid_mean_token_accuracy").asDouble()).isBetween(0.0, 1.0);
            }
        }
        JsonNode full = metrics.stream().filter(d -> d.has("full_valid_loss")).findFirst().orElseThrow();
        assertThat(full.path("step").asInt()).isEqualTo(4);
        assertThat(full.path("full_valid_mean_token_accuracy").asDouble()).isBetween(0.0, 1.0);

        // the step-4 numbers are the final adapter's on the validation file (small enough to be its own sample)
        IndependentScore recomputed = scoreFinalAdapter(id, TestModels.tinyLlama(), validationText);
        assertThat(steps.get(3).path("valid_loss").asDouble()).isCloseTo(recomputed.loss(), within(1e-4));
        assertThat(steps.get(3).path("valid_mean_token_accuracy").asDouble()).isEqualTo(recomputed.accuracy());
        assertThat(full.path("full_valid_loss").asDouble()).isCloseTo(recomputed.loss(), within(1e-4));

        // the results file: listed on the job, a file of the tenant, its rows the step events
        assertThat(job.path("result_files")).hasSize(1);
        String resultFile = job.path("result_files").get(0).asString();
        JsonNode file = api.get("/v1/files/" + resultFile).json();
        assertThat(file.path("purpose").asString()).isEqualTo("fine-tune-results");
        assertThat(file.path("filename").asString()).isEqualTo("step_metrics.csv");
        TestApi.Response csv = api.get("/v1/files/" + resultFile + "/content");
        assertThat(csv.status()).isEqualTo(200);
        assertThat(csv.contentType()).startsWith("text/csv");
        assertThat(csv.bytes()).hasSize(file.path("bytes").asInt());
        List<String> lines = csv.body().lines().toList();
        assertThat(lines.get(0)).isEqualTo("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,lr,"
                + "grad_norm,tokens_per_second");
        assertThat(lines).hasSize(steps.size() + 1);
        for (int i = 0; i < steps.size(); i++) {
            JsonNode d = steps.get(i);
            String[] cells = lines.get(i + 1).split(",", -1);
            assertThat(Integer.parseInt(cells[0])).isEqualTo(d.path("step").asInt());
            assertThat(Double.parseDouble(cells[1])).isEqualTo(d.path("train_loss").asDouble());
            assertThat(Double.parseDouble(cells[2])).isEqualTo(d.path("train_mean_token_accuracy").asDouble());
            assertThat(cells[3]).isEqualTo(d.has("valid_loss") ? Double.toString(d.path("valid_loss").asDouble()) : "");
            assertThat(cells[4]).isEqualTo(d.has("valid_mean_token_accuracy")
                    ? Double.toString(d.path("valid_mean_token_accuracy").asDouble()) : "");
            assertThat(Double.parseDouble(cells[5])).isEqualTo(d.path("learning_rate").asDouble());
            assertThat(Double.parseDouble(cells[6])).isEqualTo(d.path("grad_norm").asDouble());
            assertThat(Double.parseDouble(cells[7])).isEqualTo(d.path("tokens_per_second").asDouble());
        }

        // uploads download too, byte for byte; another tenant sees neither
        TestApi.Response uploaded = api.get("/v1/files/" + validation + "/content");
        assertThat(uploaded.status()).isEqualTo(200);
        assertThat(uploaded.contentType()).startsWith("application/jsonl");
        assertThat(uploaded.body()).isEqualTo(validationText);
        assertThat(TestApi.beta(port).get("/v1/files/" + resultFile + "/content").status()).isEqualTo(404);
        assertThat(TestApi.beta(port).get("/v1/files/" + validation + "/content").status()).isEqualTo(404);
        assertThat(api.get("/v1/files/file-nonesuch/content").status()).isEqualTo(404);
    }

    @Test
    void aCancelledJobGetsAResultsFileOfTheStepsItRan() {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String train = Fixtures.uploadTrainingFile(api);
        String id = createJob(api, "tiny-llama", train, null, Map.of("r", 2, "max_steps", 100_000, "batch_size", 1));
        await().atMost(Duration.ofSeconds(120)).until(() ->
                api.get("/v1/fine_tuning/jobs/" + id).json().path("steps_completed").asInt() >= 2);
        assertThat(api.post("/v1/fine_tuning/jobs/" + id + "/cancel", Map.of()).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(60)).until(() ->
                api.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString().equals("cancelled"));

        JsonNode job = api.get("/v1/fine_tuning/jobs/" + id).json();
        long stepEvents = Fixtures.jobEvents(api, id).stream().filter(e -> e.path("data").has("train_loss")).count();
        assertThat(stepEvents).isGreaterThanOrEqualTo(2);
        assertThat(job.path("result_files")).hasSize(1);
        String csv = api.get("/v1/files/" + job.path("result_files").get(0).asString() + "/content").body();
        assertThat(csv.lines()).hasSize((int) stepEvents + 1);
    }

    @Test
    void evaluationSettingsWithoutAValidationFileAreRefusedByName() {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String train = Fixtures.uploadTrainingFile(api);
        for (Map<String, Object> hp : List.<Map<String, Object>>of(Map.of("eval_every", 2),
                Map.of("eval_every", 2, "early_stopping_patience", 2),
                Map.of("eval_every", 2, "keep_best", true))) {
            TestApi.Response refused = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama",
                    "training_file", train, "method", Map.of("type", "lora", "lora", Map.of("hyperparameters", hp))));
            assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
            assertThat(refused.body()).contains("method.lora.hyperparameters.eval_every").contains("validation_file");
        }
        String validation = Fixtures.uploadTrainingFile(api);
        TestApi.Response noEvalEvery = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama",
                "training_file", train, "validation_file", validation, "method", Map.of("type", "lora", "lora",
                        Map.of("hyperparameters", Map.of("early_stopping_patience", 2)))));
        assertThat(noEvalEvery.status()).as(noEvalEvery.toString()).isEqualTo(400);
        assertThat(noEvalEvery.body()).contains("method.lora.hyperparameters.early_stopping_patience")
                .contains("eval_every");
    }

    /**
     * stories260K on TinyShakespeare with a constant learning rate high enough that the validation loss turns up after
     * falling (measured: 4.109 at step 2, best 3.520 at step 16, stopped at step 22 of 60): the job stops early, and
     * the served adapter is the best evaluation's.
     */
    @Test
    void earlyStoppingOnARealModelKeepsTheBestEvaluationsAdapter() throws IOException {
        Optional<Path> stories = TestModels.stories260K();
        Path text = TestModels.sharedData().resolve("text/tinyshakespeare.txt");
        assumeTrue(stories.isPresent() && Files.isRegularFile(text), "../shared/data not present");
        TestApi api = TestApi.alpha(port);
        // file:// sources must lie under the context's model roots, of which JUnit's temporary folders are one
        Path base = Files.createDirectories(tmp.resolve("stories260K"));
        try (var files = Files.list(stories.get())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, base.resolve(f.getFileName().toString()));
            }
        }
        if (api.get("/v1/models/stories").status() == 404) {
            TestApi.Response registered = api.post("/v1/models", Map.of("id", "stories", "source",
                    base.toUri().toString()));
            assertThat(registered.status()).as(registered.toString()).isEqualTo(200);
        }
        Fixtures.awaitModel(api, "stories", "ready");
        String shakespeare = Files.readString(text);
        String trainText = records(shakespeare.substring(0, 24_000), 400);
        String validText = records(shakespeare.substring(500_000, 504_000), 400);   // a later part of the play text
        String train = api.upload("shakespeare-train.jsonl", trainText).json().path("id").asString();
        String valid = api.upload("shakespeare-valid.jsonl", validText).json().path("id").asString();
        String id = createJob(api, "stories", train, valid, Map.of("r", 8, "max_steps", 60, "batch_size", 4,
                "learning_rate", 0.02, "lr_scheduler", "constant", "eval_every", 2, "early_stopping_patience", 3,
                "keep_best", true));
        JsonNode job = awaitSucceeded(api, id);

        List<JsonNode> evaluated = Fixtures.jobEvents(api, id).stream()
                .filter(e -> e.path("type").asString().equals("metrics")).map(e -> e.path("data"))
                .filter(d -> d.has("valid_loss")).toList();
        JsonNode best = evaluated.stream().min(Comparator.comparingDouble(d -> d.path("valid_loss").asDouble()))
                .orElseThrow();
        int bestStep = best.path("step").asInt();
        assertThat(bestStep).as("the loss fell before it rose").isGreaterThan(evaluated.get(0).path("step").asInt());
        assertThat(job.path("steps_completed").asInt()).as("stopped three evaluations after the best")
                .isEqualTo(bestStep + 3 * 2).isLessThan(60);
        assertThat(evaluated.get(evaluated.size() - 1).path("valid_loss").asDouble())
                .isGreaterThan(best.path("valid_loss").asDouble());
        assertThat(Fixtures.jobMessages(api, id)).anyMatch(m -> m.startsWith("Early stopping at step "))
                .anyMatch(m -> m.startsWith("keep_best: the fine-tuned model is the adapter of step " + bestStep));

        IndependentScore served = scoreFinalAdapter(id, stories.get(), validText);
        System.out.printf(java.util.Locale.ROOT, "stories260K early stopping: stopped at step %d of 60, best valid_loss"
                        + " %.5f at step %d (first eval %.5f, last %.5f), served adapter %.5f%n",
                job.path("steps_completed").asInt(), best.path("valid_loss").asDouble(), bestStep,
                evaluated.get(0).path("valid_loss").asDouble(),
                evaluated.get(evaluated.size() - 1).path("valid_loss").asDouble(), served.loss());
        assertThat(served.loss()).as("the served adapter's validation loss")
                .isCloseTo(best.path("valid_loss").asDouble(), within(1e-4));
    }

    /** {@code text} cut into {"text": …} records of {@code size} characters. */
    private static String records(String text, int size) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i + size <= text.length(); i += size) {
            out.append(TestApi.json().writeValueAsString(Map.of("text", text.substring(i, i + size)))).append('\n');
        }
        return out.toString();
    }

    private static String createJob(TestApi api, String model, String train, String validation,
                                    Map<String, Object> hyperparameters) {
        Map<String, Object> body = new java.util.HashMap<>(Map.of("model", model, "training_file", train, "seed", 5,
                "method", Map.of("type", "lora", "lora", Map.of("hyperparameters", hyperparameters))));
        if (validation != null) {
            body.put("validation_file", validation);
        }
        TestApi.Response created = api.post("/v1/fine_tuning/jobs", body);
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        return created.json().path("id").asString();
    }

    private static JsonNode awaitSucceeded(TestApi api, String id) {
        await().atMost(Duration.ofSeconds(240)).until(() -> {
            JsonNode job = api.get("/v1/fine_tuning/jobs/" + id).json();
            assertThat(job.path("status").asString()).as(job.toString()).isNotIn("failed", "cancelled");
            return job.path("status").asString().equals("succeeded");
        });
        return api.get("/v1/fine_tuning/jobs/" + id).json();
    }

    /** The job's exported adapter (what serving loads for its fine_tuned_model) scored on the validation records. */
    private IndependentScore scoreFinalAdapter(String jobId, Path baseDir, String validationJsonl) throws IOException {
        Path adapterDir = tmp.resolve(jobId);
        store.getDirectory(ObjectKeys.adapter("alpha", jobId), adapterDir);
        Path validation = tmp.resolve(jobId + "-valid.jsonl");
        Files.writeString(validation, validationJsonl, StandardCharsets.UTF_8);
        try (CausalLm model = ModelLoader.load(baseDir); Tokenizer tokenizer = Tokenizer.load(baseDir);
             AbstractAdapter adapter = PeftImporter.load(adapterDir, model.linears())) {
            int maxLen = Math.min(512, model.config().maxPositionEmbeddings());
            return IndependentScore.of(model, adapter, JsonlDataset.read(validation, tokenizer, maxLen).examples());
        }
    }
}
