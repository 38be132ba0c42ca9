package dev.peftd.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.util.Map;
import org.junit.jupiter.api.Test;
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
    void aMissingFolderFailsWithTheReason() {
        TestApi alpha = TestApi.alpha(port);
        alpha.post("/v1/models", Map.of("id", "nowhere", "source", "file:///does/not/exist"));
        JsonNode model = Fixtures.awaitModel(alpha, "nowhere", "failed");
        assertThat(model.path("failure_reason").asString()).contains("/does/not/exist").contains("does not exist");
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
    void aFolderThatIsNotAModelFailsWithTheMissingFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"]}");
        TestApi alpha = TestApi.alpha(port);
        alpha.post("/v1/models", Map.of("id", "not-a-model", "source", dir.toUri().toString()));
        JsonNode model = Fixtures.awaitModel(alpha, "not-a-model", "failed");
        assertThat(model.path("failure_reason").asString()).contains("no *.safetensors weights");
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
    void registeringAnIdTwiceIsAConflictButAnIdempotentReplayIsNot() {
        TestApi alpha = TestApi.alpha(port);
        Map<String, String> body = Map.of("id", "twice", "source", "file:///nothing/here");
        JsonNode first = alpha.post("/v1/models", body, "model-key").json();
        JsonNode replay = alpha.post("/v1/models", body, "model-key").json();
        assertThat(replay.path("id").asString()).isEqualTo(first.path("id").asString());
        TestApi.Response again = alpha.post("/v1/models", body);
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().path("errors").get(0).path("field").asString()).isEqualTo("id");
        TestApi.Response otherBody = alpha.post("/v1/models", Map.of("id", "twice", "source", "file:///else"), "model-key");
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
