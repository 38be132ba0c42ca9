package dev.peftd.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Request bodies past {@code peftd.limits.json-body-max-bytes} (1 MiB by default) are refused with a 413 problem
 * before they are parsed, whether the client declares their length or streams them chunked. A 25 MB prompt drove
 * the server to 10 GB of RSS before.
 */
@ServiceTest
class BodySizeLimitTest {

    private static final int LIMIT = 1 << 20;
    private static final int HUGE = 25 << 20;

    @LocalServerPort
    int port;

    @Test
    void aDeclaredBodyOverTheLimitIsRefusedUnread() throws Exception {
        long start = System.nanoTime();
        String response = send("Content-Length: " + (HUGE + 40) + "\r\n", false);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("25 MB declared body: answered in %d ms%n", millis);
        assertTooLarge(response);
        assertThat(millis).isLessThan(10_000);
    }

    @Test
    void aChunkedBodyIsCountedAsItIsReadAndRefusedPastTheLimit() throws Exception {
        long start = System.nanoTime();
        String response = send("Transfer-Encoding: chunked\r\n", true);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("25 MB chunked body: answered in %d ms%n", millis);
        assertTooLarge(response);
        assertThat(millis).isLessThan(10_000);
    }

    @Test
    void bodiesWithinTheLimitAndMultipartUploadsAreNotAffected() {
        TestApi alpha = TestApi.alpha(port);
        String nearLimit = "x".repeat(LIMIT - 200);
        TestApi.Response justUnder = alpha.post("/v1/completions", Map.of("model", "no-such-model", "prompt", nearLimit));
        assertThat(justUnder.status()).as("parsed, then refused for its model").isEqualTo(404);
        TestApi.Response over = alpha.post("/v1/completions", Map.of("model", "no-such-model", "prompt", "x".repeat(LIMIT)));
        assertThat(over.status()).isEqualTo(413);
        assertThat(over.json().path("detail").asString()).isEqualTo("request body exceeds the limit of 1048576 bytes");
        // a multipart upload above 1 MiB meets only its own limit (256 KB in tests): its 413 names that one
        TestApi.Response upload = alpha.upload("big.jsonl", new byte[LIMIT + 1], "fine-tune", null);
        assertThat(upload.status()).isEqualTo(413);
        assertThat(upload.body()).doesNotContain("1048576");
    }

    private static void assertTooLarge(String response) {
        assertThat(response).startsWith("HTTP/1.1 413");
        assertThat(response).containsIgnoringCase("content-type: application/problem+json");
        assertThat(response).contains("\"detail\":\"request body exceeds the limit of " + LIMIT + " bytes\"",
                "https://peftd.dev/problems/payload-too-large");
    }

    /**
     * A completion request whose prompt is 25 MB, written by a background thread (as a real client would keep
     * sending) while this one reads the answer; the server may close the connection on the rest.
     */
    private String send(String lengthHeader, boolean chunked) throws Exception {
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TestApi.ALPHA_KEY
                    + "\r\nContent-Type: application/json\r\n" + lengthHeader + "\r\n").getBytes(StandardCharsets.US_ASCII));
            Thread writer = new Thread(() -> writeBody(out, chunked), "25MB-client");
            writer.setDaemon(true);
            writer.start();
            String response = readAll(socket.getInputStream());
            writer.interrupt();
            return response;
        }
    }

    private static void writeBody(OutputStream out, boolean chunked) {
        byte[] piece = new byte[64 << 10];
        Arrays.fill(piece, (byte) 'a');
        try {
            frame(out, "{\"model\":\"tiny-llama\",\"prompt\":\"".getBytes(StandardCharsets.US_ASCII), chunked);
            for (int sent = 0; sent < HUGE; sent += piece.length) {
                frame(out, piece, chunked);
            }
            frame(out, "\"}".getBytes(StandardCharsets.US_ASCII), chunked);
            if (chunked) {
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.flush();
        } catch (IOException expected) {
            // the server stopped reading: what the limit is for
        }
    }

    private static void frame(OutputStream out, byte[] data, boolean chunked) throws IOException {
        if (chunked) {
            out.write((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        out.write(data);
        if (chunked) {
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Everything the server sends until it closes the connection or ends its chunked answer. */
    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream response = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) > 0; ) {
                response.write(buffer, 0, n);
                if (response.toString(StandardCharsets.UTF_8).contains("\r\n0\r\n\r\n")) {
                    break;
                }
            }
        } catch (IOException reset) {
            // a reset after the answer arrived: the server dropped the unread rest of the body
        }
        return response.toString(StandardCharsets.UTF_8);
    }
}
