package dev.peftd.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

@ServiceTest
class ModelsApiTest {

    @LocalServerPort
    int port;
    @Autowired
    JdbcClient jdbc;

    @Test
    void aLocalModelLoadsInTheBackgroundAndIsListed() {
        TestApi alpha = TestApi.alpha(port);
        JsonNode model = Fixtures.readyTinyLlama(alpha, "tiny-llama");
        assertThat(model.path("object").asString()).isEqualTo("model");
        assertThat(model.path("architecture").asString()).isEqualTo("LlamaForCausalLM");
        assertThat(model.path("owned_by").asString()).isEqualTo("alpha");
        JsonNode list = alpha.get("/v1/models").json();
        assertThat(list.path("object").asString()).isEqualTo("list");
        assertThat(list.path("data").valueStream().map(m -> m.path("id").asString())).contains("tiny-llama");
        // another tenant neither sees it nor gets it by id, and may use the same id for its own model
        assertThat(TestApi.beta(port).get("/v1/models/tiny-llama").status()).isEqualTo(404);
        assertThat(TestApi.beta(port).get("/v1/models").json().path("data").valueStream()
                .map(m -> m.path("id").asString())).doesNotContain("tiny-llama");
    }

    @Test
    void aMissingFolderIsRefusedLikeAForbiddenOneWithoutNamingServerPaths() {
        TestApi alpha = TestApi.alpha(port);
        TestApi.Response missing = alpha.post("/v1/models", Map.of("id", "nowhere", "source", "file:///does/not/exist"));
        // /etc exists but lies outside the model roots: the answer must not tell the two apart
        TestApi.Response outside = alpha.post("/v1/models", Map.of("id", "nowhere", "source", "file:///etc"));
        assertThat(missing.status()).isEqualTo(400);
        assertThat(outside.status()).isEqualTo(400);
        assertThat(outside.body()).isEqualTo(missing.body());
        assertThat(missing.json().path("errors").get(0).path("field").asString()).isEqualTo("source");
        assertThat(missing.json().path("detail").asString()).contains(LocalModelFolders.REFUSED)
                .doesNotContain("/does/not/exist");
        assertThat(alpha.get("/v1/models/nowhere").status()).isEqualTo(404);
    }

    @Test
    void aHubModelThatCannotBeReachedFailsWithTheReason() {
        TestApi alpha = TestApi.alpha(port);
        alpha.post("/v1/models", Map.of("id", "from-hub", "source", "hf://peftd-test/tiny@main"));
        JsonNode model = Fixtures.awaitModel(alpha, "from-hub", "failed");
        assertThat(model.path("failure_reason").asString()).startsWith("hf://peftd-test/tiny@main: ")
                .contains("peftd-test/tiny");
    }

    @Test
    void aFolderThatIsNotAModelFailsWithTheMissingFile(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"]}");
        TestApi alpha = TestApi.alpha(port);
        alpha.post("/v1/models", Map.of("id", "not-a-model", "source", dir.toUri().toString()));
        JsonNode model = Fixtures.awaitModel(alpha, "not-a-model", "failed");
        assertThat(model.path("failure_reason").asString()).contains("no *.safetensors weights")
                .doesNotContain(dir.toString());
        assertThat(model.path("error").path("code").asString()).isEqualTo("invalid_model_files");
        assertThat(model.path("error").path("file").asString()).isEqualTo("model.safetensors");
    }

    @Test
    void badSourcesAndIdsAreRefusedBeforeAnythingIsStored() {
        TestApi alpha = TestApi.alpha(port);
        long before = jdbc.sql("select count(*) from base_models").query(Long.class).single();
        assertSourceRefused(alpha, "file:///models/../etc", "'..'");
        assertSourceRefused(alpha, "file:///models/%2e%2e/etc", "'%'");
        assertSourceRefused(alpha, "file://relative/dir", "absolute");
        assertSourceRefused(alpha, "s3://bucket/models/../../secrets", "'..'");
        assertSourceRefused(alpha, "s3://B!/x", "bucket name");
        assertSourceRefused(alpha, "hf://just-a-name", "org/name");
        assertSourceRefused(alpha, "hf://org/name@../../x", "revision");
        assertSourceRefused(alpha, "ftp://host/model", "unknown scheme");
        TestApi.Response badId = alpha.post("/v1/models", Map.of("id", "ft:evil:x", "source", "file:///tmp"));
        assertThat(badId.status()).isEqualTo(400);
        assertThat(badId.json().path("errors").get(0).path("field").asString()).isEqualTo("id");
        assertThat(jdbc.sql("select count(*) from base_models").query(Long.class).single()).isEqualTo(before);
    }

    @Test
    void registeringAnIdTwiceIsAConflictButAnIdempotentReplayIsNot(@TempDir Path dir) {
        TestApi alpha = TestApi.alpha(port);
        Map<String, String> body = Map.of("id", "twice", "source", dir.toUri().toString());
        JsonNode first = alpha.post("/v1/models", body, "model-key").json();
        JsonNode replay = alpha.post("/v1/models", body, "model-key").json();
        assertThat(replay.path("id").asString()).isEqualTo(first.path("id").asString());
        TestApi.Response again = alpha.post("/v1/models", body);
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().path("errors").get(0).path("field").asString()).isEqualTo("id");
        TestApi.Response otherBody = alpha.post("/v1/models", Map.of("id", "twice",
                "source", TestModels.tinyLlama().toUri().toString()), "model-key");
        assertThat(otherBody.status()).isEqualTo(422);
    }

    private static void assertSourceRefused(TestApi api, String source, String reason) {
        TestApi.Response response = api.post("/v1/models", Map.of("id", "bad-source", "source", source));
        assertThat(response.status()).as(source + " -> " + response).isEqualTo(400);
        assertThat(response.contentType()).startsWith("application/problem+json");
        JsonNode error = response.json().path("errors").get(0);
        assertThat(error.path("field").asString()).isEqualTo("source");
        assertThat(error.path("message").asString()).as(source).contains(reason);
    }
}
