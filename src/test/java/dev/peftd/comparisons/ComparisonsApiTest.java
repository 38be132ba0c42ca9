package dev.peftd.comparisons;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.security.Tenant;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/**
 * A comparison over the API: child jobs on the normal queue, the table read from what each child recorded, the HTML
 * report, cancel, tenancy, idempotency and the 4xx of a bad request.
 */
@ServiceTest
class ComparisonsApiTest {

    private static final String PATH = "/v1/fine_tuning/comparisons";

    @LocalServerPort
    int port;
    @Autowired
    JdbcClient jdbc;
    @Autowired
    dev.peftd.catalog.Files files;
    @Autowired
    io.micrometer.core.instrument.MeterRegistry registry;

    private TestApi alpha;
    private String trainingFile;
    private String validationFile;

    @BeforeEach
    void data() {
        alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        trainingFile = Fixtures.uploadTrainingFile(alpha);
        validationFile = alpha.upload("eval.jsonl", Fixtures.trainingJsonl(2)).json().path("id").asString();
    }

    private Map<String, Object> body(List<String> methods, int steps, Map<String, Object> overrides) {
        Map<String, Object> body = new HashMap<>(Map.of("model", "tiny-llama", "training_file", trainingFile,
                "validation_file", validationFile, "methods", methods, "steps", steps, "batch_size", 2,
                "max_seq_length", 32, "seeds", 1, "seed", 5));
        body.put("overrides", overrides);
        return body;
    }

    @Test
    void trainsEachMethodAsAChildJobAndReportsWhatTheChildrenRecorded() throws IOException {
        TestApi.Response created = alpha.post(PATH, body(List.of("lora", "vera"), 3, Map.of(
                "lora", Map.of("r", 4, "learning_rate", 1e-3),
                "vera", Map.of("r", 16, "learning_rate", 1e-2))));
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        String id = created.json().path("id").asString();
        assertThat(id).startsWith("ftcmp-");
        assertThat(created.json().path("object").asString()).isEqualTo("fine_tuning.comparison");
        JsonNode children = created.json().path("jobs");
        assertThat(children.valueStream().map(c -> c.path("method").asString())).containsExactly("lora", "vera");
        for (JsonNode child : children) {   // ordinary jobs, labelled, same seed and data for every method
            JsonNode job = alpha.get("/v1/fine_tuning/jobs/" + child.path("id").asString()).json();
            assertThat(job.path("metadata").path("comparison_id").asString()).isEqualTo(id);
            assertThat(job.path("seed").asLong()).isEqualTo(5);
            assertThat(job.path("training_file").asString()).isEqualTo(trainingFile);
            assertThat(job.path("validation_file").asString()).isEqualTo(validationFile);
            assertThat(job.path("method").path(child.path("method").asString()).path("hyperparameters")
                    .path("max_steps").asInt()).isEqualTo(3);
        }

        JsonNode done = awaitFinished(id);
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("succeeded");
        JsonNode table = done.path("table");
        assertThat(table.valueStream().map(r -> r.path("method").asString())).containsExactly("lora", "vera");
        for (JsonNode row : table) {
            String jobId = children.valueStream().filter(c -> c.path("method").asString()
                    .equals(row.path("method").asString())).findFirst().orElseThrow().path("id").asString();
            Map<String, byte[]> adapter = unzip(alpha.get("/v1/fine_tuning/jobs/" + jobId + "/adapter").bytes());
            JsonNode sidecar = TestApi.json().readTree(adapter.get("peftd.json"));
            JsonNode metrics = sidecar.path("metrics");
            assertThat(row.path("seeds").asInt()).isEqualTo(1);
            assertThat(row.path("eval_loss").asDouble()).isEqualTo(metrics.path("eval_loss_after").asDouble());
            assertThat(row.path("eval_loss_before").asDouble()).isEqualTo(metrics.path("eval_loss_before").asDouble());
            assertThat(row.path("eval_loss_std").asDouble()).isZero();
            assertThat(row.path("step_seconds").asDouble()).isEqualTo(metrics.path("step_seconds").asDouble())
                    .isPositive();
            assertThat(row.path("trainable_params").asLong()).isEqualTo(sidecar.path("trainable_params").asLong())
                    .isPositive();
            assertThat(row.path("adapter_bytes").asLong()).isEqualTo(adapter.get("adapter_model.safetensors").length);
            assertThat(metrics.path("eval_loss_curve").valueStream().map(p -> p.path("step").asInt()))
                    .containsExactly(0, 3);
        }
        assertThat(done.path("recommendation").path("method").asString()).isIn("lora", "vera");
        assertThat(done.path("recommendation").path("rule").asString()).contains("fewest trainable parameters");

        TestApi.Response report = alpha.get(PATH + "/" + id + "/report");
        assertThat(report.status()).isEqualTo(200);
        assertThat(report.contentType()).startsWith("text/html");
        Matcher rows = Pattern.compile("<tr><td>([a-z_]+)</td>").matcher(report.body());
        List<String> methods = rows.results().map(m -> m.group(1)).toList();
        assertThat(methods).containsExactly("lora", "vera");
        assertThat(report.body()).contains("data:image/png;base64,").contains("tiny-llama")
                .as("the service measures no memory per job and says so").contains("<td>not measured</td>")
                .doesNotContain("<td>NaN");

        JsonNode listed = alpha.get(PATH + "?limit=100").json();
        JsonNode inList = listed.path("data").valueStream().filter(c -> c.path("id").asString().equals(id))
                .findFirst().orElseThrow();
        assertThat(inList).as("the list reads each comparison's children (in one query per page) as a get does")
                .isEqualTo(alpha.get(PATH + "/" + id).json());

        TestApi beta = TestApi.beta(port);
        for (TestApi.Response hidden : List.of(beta.get(PATH + "/" + id), beta.get(PATH + "/" + id + "/report"),
                beta.post(PATH + "/" + id + "/cancel", Map.of()))) {
            assertThat(hidden.status()).as(hidden.toString()).isEqualTo(404);
        }
        assertThat(beta.get(PATH + "?limit=100").json().path("data").valueStream()
                .map(c -> c.path("id").asString())).doesNotContain(id);
        assertThat(alpha.post(PATH + "/" + id + "/cancel", Map.of()).status()).isEqualTo(409);
    }

    @Test
    void cancelCancelsTheChildrenAndTheReportWaitsForThem() {
        TestApi.Response created = alpha.post(PATH, body(List.of("lora", "lora_fa"), 5000, Map.of()), "cmp-cancel-1");
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        String id = created.json().path("id").asString();
        TestApi.Response replay = alpha.post(PATH, body(List.of("lora", "lora_fa"), 5000, Map.of()), "cmp-cancel-1");
        assertThat(replay.json().path("id").asString()).isEqualTo(id);
        assertThat(countChildren(id)).isEqualTo(2);   // a replay creates nothing

        // the running children's meters carry the comparison and their method (the dashboard's Comparisons row)
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> registry
                .find("peftd.training.loss").tag("comparison_id", id).gauges().stream()
                .map(g -> g.getId().getTag("method")).distinct().count() == 2);

        TestApi.Response early = alpha.get(PATH + "/" + id + "/report");
        assertThat(early.status()).as(early.toString()).isEqualTo(409);
        assertThat(early.contentType()).startsWith("application/problem+json");

        JsonNode cancelled = alpha.post(PATH + "/" + id + "/cancel", Map.of()).json();
        assertThat(cancelled.path("jobs").valueStream().map(c -> c.path("status").asString()))
                .allMatch(s -> s.equals("cancelled") || s.equals("cancelling"));
        JsonNode done = awaitFinished(id);
        assertThat(done.path("status").asString()).isEqualTo("cancelled");
        assertThat(done.path("table").isEmpty()).isTrue();
        for (JsonNode child : done.path("jobs")) {
            assertThat(alpha.get("/v1/fine_tuning/jobs/" + child.path("id").asString()).json().path("status")
                    .asString()).isEqualTo("cancelled");
        }
        assertThat(alpha.get(PATH + "/" + id + "/report").status()).isEqualTo(409);
    }

    @Test
    void aValidationFractionHoldsOutTheLastRecordsOfTheTrainingFile() throws IOException {
        Map<String, Object> body = body(List.of("lora"), 5000, Map.of());
        body.remove("validation_file");
        body.put("validation_fraction", 0.25);
        JsonNode created = alpha.post(PATH, body).json();
        String id = created.path("id").asString();
        try {
            String heldOut = created.path("validation_file").asString();
            assertThat(heldOut).isNotEqualTo(trainingFile).startsWith("file-");
            JsonNode child = alpha.get("/v1/fine_tuning/jobs/" + created.path("jobs").get(0).path("id").asString())
                    .json();
            assertThat(child.path("validation_file").asString()).isEqualTo(heldOut);
            String kept = child.path("training_file").asString();
            assertThat(alpha.get("/v1/files/" + trainingFile).json().path("line_count").asInt()).isEqualTo(8);
            assertThat(alpha.get("/v1/files/" + kept).json().path("line_count").asInt()).isEqualTo(6);
            assertThat(alpha.get("/v1/files/" + heldOut).json().path("line_count").asInt()).isEqualTo(2);
            try (var in = files.open(files.get(new Tenant("alpha"), heldOut))) {
                assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines())
                        .containsExactlyElementsOf(Fixtures.trainingJsonl(4).lines().skip(6).toList());
            }
        } finally {
            alpha.post(PATH + "/" + id + "/cancel", Map.of());
        }
    }

    @Test
    void badRequestsAreRefusedNamingTheField() {
        assertRefused(body(List.of("lora", "dora"), 3, Map.of()), "methods[1]", "unknown method 'dora'");
        assertRefused(body(List.of("lora", "lora"), 3, Map.of()), "methods[1]", "listed twice");
        assertRefused(body(List.of("vera"), 3, Map.of("vera", Map.of("bogus", 1))), "overrides.vera.bogus",
                "unknown hyperparameter");
        assertRefused(body(List.of("vera"), 3, Map.of("vera", Map.of("r", 0))), "overrides.vera.r", "between");
        assertRefused(body(List.of("lora"), 3, Map.of("vera", Map.of("r", 8))), "overrides.vera",
                "not one of the compared methods");
        assertRefused(body(List.of("lora"), 3, Map.of("lora", Map.of("batch_size", 8))), "overrides.lora.batch_size",
                "shared");
        assertRefused(body(List.of("lora"), 0, Map.of()), "steps", "between 1 and");
        Map<String, Object> seeds = body(List.of("lora"), 3, Map.of());
        seeds.put("seeds", 0);
        assertRefused(seeds, "seeds", "between 1 and");
        Map<String, Object> noEval = body(List.of("lora"), 3, Map.of());
        noEval.remove("validation_file");
        assertRefused(noEval, "validation_file", "held-out data");
        Map<String, Object> both = body(List.of("lora"), 3, Map.of());
        both.put("epochs", 1);
        assertRefused(both, "epochs", "not both");
        Map<String, Object> noModel = body(List.of("lora"), 3, Map.of());
        noModel.put("model", "no-such-model");
        assertRefused(noModel, "model", "no model");
        assertThat(alpha.get(PATH + "/ftcmp-000000000000000000000000").status()).isEqualTo(404);
    }

    /** A comparison whose children would pass the tenant's job limit (10 here) creates nothing. */
    @Test
    void aComparisonOverTheJobLimitCreatesNothing() {
        int comparisons = jdbc.sql("select count(*) from fine_tuning_comparisons").query(Integer.class).single();
        int jobs = jdbc.sql("select count(*) from fine_tuning_jobs").query(Integer.class).single();
        Map<String, Object> body = body(List.of("lora", "lora_fa", "vera", "delta_lora", "lora_plus"), 3, Map.of());
        body.put("seeds", 3);
        TestApi.Response refused = alpha.post(PATH, body);
        assertThat(refused.status()).as(refused.toString()).isEqualTo(429);
        assertThat(refused.json().path("detail").asString()).contains("this request adds 15");
        assertThat(jdbc.sql("select count(*) from fine_tuning_comparisons").query(Integer.class).single())
                .isEqualTo(comparisons);
        assertThat(jdbc.sql("select count(*) from fine_tuning_jobs").query(Integer.class).single()).isEqualTo(jobs);
    }

    private void assertRefused(Map<String, Object> body, String field, String reason) {
        TestApi.Response response = alpha.post(PATH, body);
        assertThat(response.status()).as(field + " -> " + response).isEqualTo(400);
        assertThat(response.contentType()).startsWith("application/problem+json");
        JsonNode error = response.json().path("errors").get(0);
        assertThat(error.path("field").asString()).as(response.toString()).isEqualTo(field);
        assertThat(error.path("message").asString()).as(response.toString()).contains(reason);
    }

    private int countChildren(String id) {
        return jdbc.sql("select count(*) from fine_tuning_jobs where comparison_id = ?").param(id)
                .query(Integer.class).single();
    }

    private JsonNode awaitFinished(String id) {
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).until(() -> List.of("succeeded",
                "failed", "cancelled").contains(alpha.get(PATH + "/" + id).json().path("status").asString()));
        return alpha.get(PATH + "/" + id).json();
    }

    private static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        Map<String, byte[]> entries = new HashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                entries.put(e.getName(), in.readAllBytes());
            }
        }
        return entries;
    }
}
