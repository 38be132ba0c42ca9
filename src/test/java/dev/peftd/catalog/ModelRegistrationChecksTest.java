package dev.peftd.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.model.TestModels;
import dev.peftd.kernel.DataDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * What a registration may read and what it must pass before {@code ready}: the tenant boundary of {@code file://}
 * sources (the context has two tenants and model roots {@code target} and the temp folder; the data dir lies inside
 * {@code target}), the checks of config.json, tokenizer and weights, and the per-tenant limit of 30 models.
 */
@ServiceTest
class ModelRegistrationChecksTest {

    @LocalServerPort
    int port;
    @Autowired
    DataDirectory dataDirectory;

    @Test
    void anotherTenantsMergedModelInsideTheDataDirCannotBeRegistered() throws IOException {
        Path merged = alphasMergedModel();
        TestApi beta = TestApi.beta(port);
        TestApi.Response stolen = register(beta, "stolen", merged);
        assertRefused(stolen);
        assertThat(beta.get("/v1/models/stolen").status()).isEqualTo(404);
        assertRefused(register(beta, "stolen", dataDirectory.root().resolve("objects")));
        assertRefused(register(beta, "stolen", dataDirectory.root()));
        // a missing folder inside the data dir reads exactly like an existing one
        TestApi.Response missing = register(beta, "stolen", dataDirectory.root().resolve("serving/merged/alpha/none"));
        assertThat(missing.body()).isEqualTo(stolen.body());
    }

    @Test
    void aSymbolicLinkIntoTheDataDirIsRefused(@TempDir Path temp) throws IOException {
        Path merged = alphasMergedModel();
        Path link = Files.createSymbolicLink(temp.resolve("innocent"), merged);
        assertRefused(register(TestApi.beta(port), "via-link", link));
        // a folder of its own whose weights file links into the data dir
        Path folder = Files.createDirectories(temp.resolve("own"));
        for (String file : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(merged.resolve(file), folder.resolve(file));
        }
        Files.createSymbolicLink(folder.resolve("model.safetensors"), merged.resolve("model.safetensors"));
        assertRefused(register(TestApi.beta(port), "via-file-link", folder));
    }

    @Test
    void theSameFilesUnderTheModelRootsLoad(@TempDir Path temp) throws IOException {
        Path copy = copyOf(TestModels.tinyLlama(), temp.resolve("tiny"));
        TestApi beta = TestApi.beta(port);
        String id = "own-copy-" + suffix();
        assertThat(register(beta, id, copy).status()).isEqualTo(200);
        JsonNode model = Fixtures.awaitModel(beta, id, "ready");
        assertThat(model.has("error")).isFalse();
    }

    @Test
    void aGarbageTokenizerFailsNamingTheFile(@TempDir Path temp) throws IOException {
        for (String garbage : List.of("{ this is not json", "{\"model\": {\"type\": \"Nonsense\"}}")) {
            Path copy = copyOf(TestModels.tinyLlama(), temp.resolve("tok-" + suffix()));
            Files.writeString(copy.resolve("tokenizer.json"), garbage);
            JsonNode error = failedRegistration(copy);
            assertThat(error.path("code").asString()).isEqualTo("invalid_model_files");
            assertThat(error.path("file").asString()).isEqualTo("tokenizer.json");
            assertThat(error.path("message").asString()).startsWith("tokenizer.json: does not load")
                    .doesNotContain(temp.toString());
        }
    }

    @Test
    void aNegativeRopeThetaFailsNamingFileAndField(@TempDir Path temp) throws IOException {
        Path copy = copyOf(TestModels.tinyLlama(), temp.resolve("rope"));
        editConfig(copy, c -> ((ObjectNode) c.path("rope_parameters")).put("rope_theta", -1.0));
        JsonNode error = failedRegistration(copy);
        assertThat(error.path("file").asString()).isEqualTo("config.json");
        assertThat(error.path("field").asString()).isEqualTo("rope_parameters.rope_theta");
        assertThat(error.path("message").asString())
                .isEqualTo("config.json: rope_parameters.rope_theta: must be a positive number, got -1.0");
    }

    @Test
    void anAbsurdContextLengthFailsNamingTheField(@TempDir Path temp) throws IOException {
        Path copy = copyOf(TestModels.tinyLlama(), temp.resolve("positions"));
        editConfig(copy, c -> c.put("max_position_embeddings", 1_000_000_000));
        JsonNode error = failedRegistration(copy);
        assertThat(error.path("field").asString()).isEqualTo("max_position_embeddings");
        assertThat(error.path("message").asString()).contains("beyond the sane bound");
    }

    @Test
    void aVocabularyTheWeightsDoNotHaveFailsNamingTheField(@TempDir Path temp) throws IOException {
        Path copy = copyOf(TestModels.tinyLlama(), temp.resolve("vocab"));
        editConfig(copy, c -> c.put("vocab_size", 1000));
        JsonNode error = failedRegistration(copy);
        assertThat(error.path("file").asString()).isEqualTo("config.json");
        assertThat(error.path("field").asString()).isEqualTo("vocab_size");
        assertThat(error.path("message").asString()).contains("tensor 'model.embed_tokens.weight' in model.safetensors "
                + "has 384 along dimension 0").doesNotContain(temp.toString());
    }

    @Test
    void anS3SourceWithoutAnS3StoreIsAShort400() {
        TestApi.Response response = TestApi.alpha(port).post("/v1/models",
                Map.of("id", "from-s3", "source", "s3://models/llama/tiny"));
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().path("errors").get(0).path("field").asString()).isEqualTo("source");
        assertThat(response.json().path("detail").asString()).contains("s3:// sources need an S3 store configured");
        assertThat(response.body().length()).isLessThan(600);   // was a 1.3 KB dump of the SDK's credential chain
        assertThat(response.body()).doesNotContain("credential chain", "CredentialsProvider", "169.254");
    }

    @Test
    void theModelLimitIsA429AndDeletingAFailedRegistrationFreesRoom(@TempDir Path notAModel) throws IOException {
        Files.writeString(notAModel.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"]}");
        TestApi beta = TestApi.beta(port);
        long registered = beta.get("/v1/models").json().path("data").valueStream().filter(m -> m.has("source")).count();
        List<String> ids = new ArrayList<>();
        for (long i = registered; i < 30; i++) {
            String id = "cap-" + suffix();
            assertThat(register(beta, id, notAModel).status()).isEqualTo(200);
            ids.add(id);
        }
        TestApi.Response over = register(beta, "one-too-many", notAModel);
        assertThat(over.status()).as(over.toString()).isEqualTo(429);
        assertThat(over.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/quota-exceeded");
        assertThat(over.json().path("detail").asString()).contains("limit of 30 registered models");
        assertThat(over.json().path("errors").get(0).path("field").asString()).isEqualTo("id");
        assertThat(beta.get("/v1/models/one-too-many").status()).isEqualTo(404);
        // the other tenant's room is its own
        String alphas = "cap-alpha-" + suffix();
        assertThat(register(TestApi.alpha(port), alphas, notAModel).status()).isEqualTo(200);
        Fixtures.awaitModel(TestApi.alpha(port), alphas, "failed");
        assertThat(TestApi.alpha(port).delete("/v1/models/" + alphas).status()).isEqualTo(200);

        for (String id : ids) {
            Fixtures.awaitModel(beta, id, "failed");
        }
        TestApi.Response deleted = beta.delete("/v1/models/" + ids.get(0));
        assertThat(deleted.status()).as(deleted.toString()).isEqualTo(200);
        assertThat(deleted.json().path("deleted").asBoolean()).isTrue();
        assertThat(register(beta, "one-too-many", notAModel).status()).isEqualTo(200);
        ids.set(0, "one-too-many");
        Fixtures.awaitModel(beta, "one-too-many", "failed");
        for (String id : ids) {
            assertThat(beta.delete("/v1/models/" + id).status()).isEqualTo(200);
        }
    }

    @Test
    void onlyFailedRegistrationsCanBeDeleted() {
        TestApi beta = TestApi.beta(port);
        Fixtures.readyTinyLlama(beta, "tiny-llama");
        TestApi.Response refused = beta.delete("/v1/models/tiny-llama");
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().path("detail").asString()).contains("only failed registrations can be deleted");
        assertThat(beta.delete("/v1/models/no-such-model").status()).isEqualTo(404);
    }

    /** Where serving keeps tenant alpha's merged checkpoints: a complete, loadable model inside the data dir. */
    private Path alphasMergedModel() throws IOException {
        Path merged = dataDirectory.root().resolve("serving/merged/alpha/boundary-probe");
        if (!Files.isRegularFile(merged.resolve("config.json"))) {
            copyOf(TestModels.tinyLlama(), merged);
        }
        return merged;
    }

    private JsonNode failedRegistration(Path dir) {
        TestApi alpha = TestApi.alpha(port);
        String id = "checked-" + suffix();
        assertThat(register(alpha, id, dir).status()).isEqualTo(200);
        JsonNode model = Fixtures.awaitModel(alpha, id, "failed");
        assertThat(model.path("failure_reason").asString()).isEqualTo(model.path("error").path("message").asString());
        assertThat(alpha.delete("/v1/models/" + id).status()).isEqualTo(200);
        return model.path("error");
    }

    private static void assertRefused(TestApi.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.json().path("errors").get(0).path("field").asString()).isEqualTo("source");
        assertThat(response.json().path("detail").asString()).contains(LocalModelFolders.REFUSED)
                .doesNotContain("test-peftd-data");
    }

    private static TestApi.Response register(TestApi api, String id, Path dir) {
        return api.post("/v1/models", Map.of("id", id, "source", dir.toUri().toString()));
    }

    private static Path copyOf(Path model, Path target) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(model)) {
            for (Path file : files.toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
        return target;
    }

    private static void editConfig(Path dir, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode config = (ObjectNode) TestApi.json().readTree(Files.readString(dir.resolve("config.json")));
        edit.accept(config);
        Files.writeString(dir.resolve("config.json"), TestApi.json().writeValueAsString(config));
    }

    private static String suffix() {
        return UUID.randomUUID().toString().substring(0, 8);
    }
}
