package dev.peftd.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

@ServiceTest
class ApiDocsTest {

    @LocalServerPort
    int port;

    @Test
    void theOpenApiDescriptionListsTheApiWithoutAKey() {
        TestApi.Response docs = new TestApi(port, null).get("/v3/api-docs");
        assertThat(docs.status()).isEqualTo(200);
        JsonNode paths = docs.json().path("paths");
        assertThat(docs.json().path("openapi").asString()).startsWith("3.");
        assertThat(paths.has("/v1/fine_tuning/jobs")).isTrue();
        assertThat(paths.has("/v1/fine_tuning/jobs/{id}/events")).isTrue();
        assertThat(paths.has("/v1/files")).isTrue();
        assertThat(paths.has("/v1/models")).isTrue();
    }

    @Test
    void unknownPathsAndMethodsAreProblemsToo() {
        TestApi api = TestApi.alpha(port);
        TestApi.Response missing = api.get("/v1/nothing-here");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.contentType()).startsWith("application/problem+json");
        TestApi.Response wrongMethod = api.delete("/v1/fine_tuning/jobs");
        assertThat(wrongMethod.status()).isEqualTo(405);
        assertThat(wrongMethod.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/http-405");
    }
}
