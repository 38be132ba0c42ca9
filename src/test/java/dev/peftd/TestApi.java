package dev.peftd;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A small HTTP client for tests: every call returns the status and the parsed JSON, never throws on 4xx. */
public final class TestApi {

    public static final String ALPHA_KEY = "alpha-key-0123456789abcdef";
    public static final String BETA_KEY = "beta-key-0123456789abcdef";
    /** Reads the process-wide metrics endpoints; not a tenant. */
    public static final String OPERATOR_KEY = "operator-key-0123456789abcdef";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;
    private final String key;

    public TestApi(int port, String key) {
        this.base = "http://localhost:" + port;
        this.key = key;
    }

    public static TestApi alpha(int port) {
        return new TestApi(port, ALPHA_KEY);
    }

    public static TestApi beta(int port) {
        return new TestApi(port, BETA_KEY);
    }

    public static TestApi operator(int port) {
        return new TestApi(port, OPERATOR_KEY);
    }

    public record Response(int status, String contentType, String body, byte[] bytes) {
        public JsonNode json() {
            return JSON.readTree(body);
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    public Response get(String path) {
        return send(request(path).GET());
    }

    public Response delete(String path) {
        return send(request(path).DELETE());
    }

    public Response post(String path, Object body) {
        return post(path, body, null);
    }

    public Response post(String path, Object body, String idempotencyKey) {
        String json = body instanceof String s ? s : JSON.writeValueAsString(body);
        HttpRequest.Builder builder = request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (idempotencyKey != null) {
            builder.header("Idempotency-Key", idempotencyKey);
        }
        return send(builder);
    }

    /** multipart/form-data upload of a file part and a purpose field */
    public Response upload(String filename, byte[] content, String purpose, String idempotencyKey) {
        String boundary = "----peftd" + UUID.randomUUID();
        var out = new java.io.ByteArrayOutputStream();
        try {
            if (purpose != null) {
                out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose
                        + "\r\n").getBytes(StandardCharsets.UTF_8));
            }
            if (content != null) {
                out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                        + "\"\r\nContent-Type: application/jsonl\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(content);
                out.write("\r\n".getBytes(StandardCharsets.UTF_8));
            }
            out.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest.Builder builder = request("/v1/files")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()));
        if (idempotencyKey != null) {
            builder.header("Idempotency-Key", idempotencyKey);
        }
        return send(builder);
    }

    public Response upload(String filename, String content) {
        return upload(filename, content.getBytes(StandardCharsets.UTF_8), "fine-tune", null);
    }

    /** {@code POST /v1/adapters}: multipart {@code base_model}, optional {@code name}, and the zip as {@code file}. */
    public Response uploadAdapter(String baseModel, String name, String fileName, byte[] zip) {
        String boundary = "----peftd" + UUID.randomUUID();
        var body = new java.io.ByteArrayOutputStream();
        field(body, boundary, "base_model", baseModel);
        if (name != null) {
            field(body, boundary, "name", name);
        }
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
                + "\"\r\nContent-Type: application/zip\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(zip);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return send(request("/v1/adapters").header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    }

    private static void field(java.io.ByteArrayOutputStream body, String boundary, String name, String value) {
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
                + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    public HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path));
        if (key != null) {
            builder.header("Authorization", "Bearer " + key);
        }
        return builder;
    }

    public Response send(HttpRequest.Builder builder) {
        try {
            HttpResponse<byte[]> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""),
                    new String(response.body(), StandardCharsets.UTF_8), response.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static JsonMapper json() {
        return JSON;
    }
}
