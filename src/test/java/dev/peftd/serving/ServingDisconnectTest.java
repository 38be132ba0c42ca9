package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * Through real HTTP: a streamed answer starts at once and its generation stops when the client closes the
 * connection (it went on for minutes before, holding a compute slot), and the context and max_tokens limits are
 * OpenAI-style 400 problems.
 */
@ServiceTest
class ServingDisconnectTest {

    private static final String MODEL = "tiny-llama-4k";

    @LocalServerPort
    int port;
    @Autowired
    ServingEngine engine;
    @Autowired
    MeterRegistry registry;

    @Test
    void closingAStreamStopsItsGeneration() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        registerLongContextModel(alpha);
        assertThat(alpha.post("/v1/completions", Map.of("model", MODEL, "prompt", "hi", "max_tokens", 1)).status())
                .isEqualTo(200); // loads the model outside the clock
        double stoppedBefore = clientGone();
        String body = TestApi.json().writeValueAsString(Map.of("model", MODEL, "prompt", "once upon a time",
                "max_tokens", 4000, "temperature", 0, "stream", true));
        long start = System.nanoTime();
        int chunks = 0;
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TestApi.ALPHA_KEY
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                    + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 ");
            for (String line; chunks < 3 && (line = in.readLine()) != null; ) {
                if (line.startsWith("data:")) {
                    chunks++;
                    if (chunks == 1) {
                        System.out.printf("first streamed chunk after %d ms%n", (System.nanoTime() - start) / 1_000_000);
                    }
                }
            }
            assertThat(engine.generating()).as("still generating while the client reads").isEqualTo(1);
        } // the client goes away after three chunks
        long closed = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> engine.generating() == 0);
        System.out.printf("generation stopped %d ms after the client closed the connection%n",
                (System.nanoTime() - closed) / 1_000_000);
        assertThat(chunks).isEqualTo(3);
        assertThat(clientGone() - stoppedBefore).isEqualTo(1.0);
    }

    @Test
    void contextAndMaxTokensLimitsAreOpenAiStyleProblems() {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        TestApi.Response tooLong = alpha.post("/v1/completions", Map.of("model", "tiny-llama",
                "prompt", "hello world ".repeat(4000), "max_tokens", 10));
        assertThat(tooLong.status()).as(tooLong.toString()).isEqualTo(400);
        assertThat(tooLong.contentType()).startsWith("application/problem+json");
        JsonNode error = tooLong.json().path("errors").get(0);
        assertThat(error.path("field").asString()).isEqualTo("prompt");
        assertThat(error.path("message").asString()).startsWith("This model's maximum context length is 128 tokens,"
                + " however you requested ").endsWith("Please reduce your prompt; or completion length.");

        TestApi.Response huge = alpha.post("/v1/chat/completions", Map.of("model", "tiny-llama", "max_tokens", 1_000_000_000,
                "messages", java.util.List.of(Map.of("role", "user", "content", "hi")), "stream", true));
        assertThat(huge.status()).as("was a 500 OutOfMemoryError").isEqualTo(400);
        assertThat(huge.json().path("errors").get(0).path("message").asString()).contains("at most 4096");
    }

    private double clientGone() {
        Counter counter = registry.find("peftd.serving.generations.stopped").tag("reason", "client_gone").counter();
        return counter == null ? 0 : counter.count();
    }

    private static void registerLongContextModel(TestApi api) throws Exception {
        String source = ServingFixtures.longContextLlama().toUri().toString();
        if (api.get("/v1/models/" + MODEL).status() == 404) {
            TestApi.Response created = api.post("/v1/models", Map.of("id", MODEL, "source", source));
            assertThat(created.status()).as(created.toString()).isEqualTo(200);
        }
        Fixtures.awaitModel(api, MODEL, "ready");
    }
}
