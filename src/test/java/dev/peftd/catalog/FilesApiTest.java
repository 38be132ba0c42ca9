package dev.peftd.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

@ServiceTest
class FilesApiTest {

    @LocalServerPort
    int port;
    @Autowired
    ArtifactStore store;
    @Autowired
    JdbcClient jdbc;

    @Test
    void uploadListGetDelete() throws Exception {
        TestApi api = TestApi.alpha(port);
        String content = "{\"prompt\":\"2+2=\",\"completion\":\"4\"}\n\n{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                + "{\"role\":\"assistant\",\"content\":\"hello\"}]}\n{\"text\":\"plain\"}\n";
        TestApi.Response created = api.upload("train.jsonl", content);
        assertThat(created.status()).as(created.toString()).isEqualTo(200);
        JsonNode file = created.json();
        String id = file.path("id").asString();
        assertThat(id).startsWith("file-");
        assertThat(file.path("object").asString()).isEqualTo("file");
        assertThat(file.path("bytes").asLong()).isEqualTo(content.getBytes(StandardCharsets.UTF_8).length);
        assertThat(file.path("line_count").asInt()).isEqualTo(3);
        assertThat(file.path("purpose").asString()).isEqualTo("fine-tune");
        assertThat(store.exists(ObjectKeys.file("alpha", id))).isTrue();

        assertThat(api.get("/v1/files/" + id).json().path("filename").asString()).isEqualTo("train.jsonl");
        JsonNode list = api.get("/v1/files?limit=100").json();
        assertThat(list.path("object").asString()).isEqualTo("list");
        assertThat(list.path("data").valueStream().map(f -> f.path("id").asString())).contains(id);

        JsonNode deleted = api.delete("/v1/files/" + id).json();
        assertThat(deleted.path("deleted").asBoolean()).isTrue();
        assertThat(api.get("/v1/files/" + id).status()).isEqualTo(404);
        assertThat(store.exists(ObjectKeys.file("alpha", id))).isFalse();
    }

    @Test
    void firstBadLineIsReportedWithItsNumber() {
        long before = countFiles();
        TestApi.Response response = TestApi.alpha(port).upload("bad.jsonl",
                "{\"text\":\"ok\"}\n{\"text\":\"ok\"}\n{\"text\": oops}\n{\"text\":\"fine\"}\n");
        assertThat(response.status()).isEqualTo(422);
        assertThat(response.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/invalid-file");
        assertThat(response.json().path("detail").asString()).startsWith("line 3: not valid JSON");
        assertThat(response.json().path("errors").get(0).path("field").asString()).isEqualTo("file");
        assertThat(countFiles()).isEqualTo(before);
    }

    @Test
    void notJsonlAtAllAndWrongShapesAreRefused() {
        TestApi api = TestApi.alpha(port);
        assertThat(api.upload("x.csv", "label,text\n1,hello\n").json().path("detail").asString())
                .startsWith("line 1: not valid JSON");
        assertThat(api.upload("x.jsonl", "{\"question\":\"q\"}\n").json().path("detail").asString())
                .contains("line 1: expected {\"text\"}");
        assertThat(api.upload("x.jsonl", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n")
                .json().path("detail").asString()).contains("no assistant turn");
        assertThat(api.upload("x.jsonl", "\n\n").json().path("detail").asString()).contains("no JSONL records");
        byte[] latin1 = "{\"text\":\"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1);
        assertThat(api.upload("x.jsonl", latin1, "fine-tune", null).json().path("detail").asString())
                .isEqualTo("line 1: not UTF-8 text");
    }

    @Test
    void missingPartsAndWrongPurposeNameTheField() {
        TestApi api = TestApi.alpha(port);
        TestApi.Response noPurpose = api.upload("a.jsonl", "{\"text\":\"a\"}\n".getBytes(StandardCharsets.UTF_8), null, null);
        assertThat(noPurpose.status()).isEqualTo(400);
        assertThat(noPurpose.json().path("errors").get(0).path("field").asString()).isEqualTo("purpose");
        TestApi.Response wrongPurpose = api.upload("a.jsonl", "{\"text\":\"a\"}\n".getBytes(StandardCharsets.UTF_8),
                "assistants", null);
        assertThat(wrongPurpose.status()).isEqualTo(400);
        assertThat(wrongPurpose.json().path("detail").asString()).contains("purpose").contains("fine-tune");
        TestApi.Response noFile = api.upload("a.jsonl", null, "fine-tune", null);
        assertThat(noFile.status()).isEqualTo(400);
        assertThat(noFile.json().path("errors").get(0).path("field").asString()).isEqualTo("file");
    }

    @Test
    void oversizedUploadIsA413AndLeavesNothing() {
        long before = countFiles();
        StringBuilder big = new StringBuilder();
        while (big.length() < 400_000) {
            big.append("{\"text\":\"").append("x".repeat(1000)).append("\"}\n");
        }
        TestApi.Response response = TestApi.alpha(port).upload("big.jsonl", big.toString());
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/payload-too-large");
        // the request limit (300 KB in the test context) that was exceeded, not "-1 bytes"
        assertThat(response.json().path("detail").asString()).isEqualTo("upload exceeds the limit of 307200 bytes");
        assertThat(countFiles()).isEqualTo(before);
    }

    @Test
    void aFileOverThePartLimitNamesThatLimit() {
        String line = "{\"text\":\"" + "y".repeat(1000) + "\"}\n";
        TestApi.Response response = TestApi.alpha(port).upload("part.jsonl", line.repeat(270));   // ~270 KB < 300 KB
        assertThat(response.status()).as(response.toString()).isEqualTo(413);
        assertThat(response.json().path("detail").asString()).isEqualTo("upload exceeds the limit of 262144 bytes");
        assertThat(response.json().path("errors").get(0).path("message").asString())
                .isEqualTo("larger than 262144 bytes");
    }

    @Test
    void idempotencyKeyReplaysAndRefusesADifferentBody() {
        TestApi api = TestApi.alpha(port);
        byte[] body = "{\"text\":\"same\"}\n".getBytes(StandardCharsets.UTF_8);
        JsonNode first = api.upload("s.jsonl", body, "fine-tune", "upload-key-1").json();
        JsonNode replay = api.upload("s.jsonl", body, "fine-tune", "upload-key-1").json();
        assertThat(replay.path("id").asString()).isEqualTo(first.path("id").asString());
        TestApi.Response different = api.upload("s.jsonl", "{\"text\":\"other\"}\n".getBytes(StandardCharsets.UTF_8),
                "fine-tune", "upload-key-1");
        assertThat(different.status()).isEqualTo(422);
        assertThat(different.json().path("type").asString()).isEqualTo("https://peftd.dev/problems/idempotency-key-reused");
        // the same key is a different key for another tenant
        JsonNode beta = TestApi.beta(port).upload("s.jsonl", body, "fine-tune", "upload-key-1").json();
        assertThat(beta.path("id").asString()).isNotEqualTo(first.path("id").asString());
    }

    @Test
    void paginationFollowsTheCursor() {
        TestApi api = TestApi.beta(port);
        for (int i = 0; i < 3; i++) {
            api.upload("p" + i + ".jsonl", "{\"text\":\"" + i + "\"}\n");
        }
        JsonNode first = api.get("/v1/files?limit=2").json();
        assertThat(first.path("data").size()).isEqualTo(2);
        assertThat(first.path("has_more").asBoolean()).isTrue();
        String cursor = first.path("data").get(1).path("id").asString();
        JsonNode second = api.get("/v1/files?limit=2&after=" + cursor).json();
        assertThat(second.path("data").get(0).path("id").asString()).isNotIn(
                first.path("data").get(0).path("id").asString(), cursor);
        assertThat(api.get("/v1/files?limit=0").status()).isEqualTo(400);
    }

    private long countFiles() {
        // uploads only: a job of another test that ends meanwhile adds its results file
        return jdbc.sql("select count(*) from files where purpose = 'fine-tune'").query(Long.class).single();
    }
}
