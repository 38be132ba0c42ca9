package dev.peftd.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.kernel.Refusal;
import org.junit.jupiter.api.Test;
import org.springframework.boot.servlet.autoconfigure.MultipartProperties;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;

/**
 * Serving's memory budget refusing a model (BaseModelPool) reaches the client as a 503 problem with the pool's reason
 * as the detail: one it may retry (models in use) with Retry-After, one no retry helps (larger than the whole budget)
 * without; other refusals keep their status and no Retry-After.
 */
class ServingCapacityProblemTest {

    private final ProblemHandler handler = new ProblemHandler(new MultipartProperties());

    @Test
    void aServingCapacityRefusalIsA503WithRetryAfterAndTheReason() {
        ResponseEntity<ProblemDetail> response = handler.refusal(new Refusal(Refusal.Kind.SERVING_CAPACITY,
                "this base model needs 12.0 MB with its KV cache and only 3.0 MB of the 20.0 MB budget is free"));

        assertThat(response.getStatusCode().value()).isEqualTo(503);
        assertThat(response.getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("10");
        assertThat(response.getBody().getType().toString()).isEqualTo("https://peftd.dev/problems/serving-capacity");
        assertThat(response.getBody().getDetail()).contains("needs 12.0 MB", "KV cache");

        ResponseEntity<ProblemDetail> tooLarge = handler.refusal(new Refusal(Refusal.Kind.EXCEEDS_SERVING_BUDGET,
                "this base model needs 30.0 MB with its KV cache, more than the whole budget of 20.0 MB"));
        assertThat(tooLarge.getStatusCode().value()).isEqualTo(503);
        assertThat(tooLarge.getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).as("no retry can help").isNull();
        assertThat(tooLarge.getBody().getType().toString())
                .isEqualTo("https://peftd.dev/problems/exceeds-serving-budget");

        ResponseEntity<ProblemDetail> database = handler.databaseUnavailable(
                new org.springframework.dao.DataAccessResourceFailureException("connection refused"));
        assertThat(database.getStatusCode().value()).isEqualTo(503);
        assertThat(database.getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("10");

        ResponseEntity<ProblemDetail> notFound = handler.refusal(Refusal.notFound("model", "m"));
        assertThat(notFound.getStatusCode().value()).isEqualTo(404);
        assertThat(notFound.getHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isNull();
    }
}
