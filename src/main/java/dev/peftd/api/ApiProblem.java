package dev.peftd.api;

import dev.peftd.kernel.Refusal;
import dev.peftd.kernel.Refusal.FieldError;
import java.net.URI;
import java.util.List;
import org.springframework.http.HttpStatus;

/**
 * A request the service refuses, with a stable problem type (RFC 9457), the HTTP status, a human sentence, and
 * the fields at fault. Thrown by the web edge only (controllers, filters, this package); features throw
 * {@code kernel.Refusal}, which {@link ProblemHandler} maps to one of these. Rendered as {@code application/problem+json}.
 */
public class ApiProblem extends RuntimeException {

    /** Seconds after which a transient 503 (a lost database, serving memory in use) is worth retrying. */
    static final int RETRY_SOON = 10;

    /** Stable problem types; clients may switch on the URI. */
    public enum Type {
        INVALID_REQUEST(HttpStatus.BAD_REQUEST, "invalid-request", "Invalid request"),
        UNAUTHORIZED(HttpStatus.UNAUTHORIZED, "unauthorized", "Missing or invalid API key"),
        NOT_FOUND(HttpStatus.NOT_FOUND, "not-found", "Not found"),
        CONFLICT(HttpStatus.CONFLICT, "conflict", "Conflict with the current state"),
        PAYLOAD_TOO_LARGE(HttpStatus.CONTENT_TOO_LARGE, "payload-too-large", "Payload too large"),
        QUOTA_EXCEEDED(HttpStatus.TOO_MANY_REQUESTS, "quota-exceeded", "Per-tenant limit reached"),
        IDEMPOTENCY_KEY_REUSED(HttpStatus.UNPROCESSABLE_CONTENT, "idempotency-key-reused",
                "Idempotency-Key reused with a different request"),
        INVALID_FILE(HttpStatus.UNPROCESSABLE_CONTENT, "invalid-file", "Invalid training file"),
        ADAPTER_MISMATCH(HttpStatus.UNPROCESSABLE_CONTENT, "adapter-mismatch", "Adapter does not fit its base model"),
        STORAGE_UNAVAILABLE(HttpStatus.SERVICE_UNAVAILABLE, "storage-unavailable", "Object store unavailable"),
        DATABASE_UNAVAILABLE(HttpStatus.SERVICE_UNAVAILABLE, "database-unavailable", "Database unavailable",
                RETRY_SOON),
        /** Models in use free their room when their requests finish. */
        SERVING_CAPACITY(HttpStatus.SERVICE_UNAVAILABLE, "serving-capacity", "No room in serving memory", RETRY_SOON),
        EXCEEDS_SERVING_BUDGET(HttpStatus.SERVICE_UNAVAILABLE, "exceeds-serving-budget",
                "Larger than the serving memory budget");

        public static final String BASE = "https://peftd.dev/problems/";

        final HttpStatus status;
        final URI uri;
        final String title;
        /** The {@code Retry-After} seconds a client is told, or {@code null}: retrying the same request will not help. */
        final Integer retryAfterSeconds;

        Type(HttpStatus status, String slug, String title) {
            this(status, slug, title, null);
        }

        Type(HttpStatus status, String slug, String title, Integer retryAfterSeconds) {
            this.status = status;
            this.uri = URI.create(BASE + slug);
            this.title = title;
            this.retryAfterSeconds = retryAfterSeconds;
        }
    }

    private final Type type;
    private final List<FieldError> errors;

    public ApiProblem(Type type, String detail, List<FieldError> errors) {
        super(detail);
        this.type = type;
        this.errors = List.copyOf(errors);
    }

    public ApiProblem(Type type, String detail) {
        this(type, detail, List.of());
    }

    /** A 400 about one field, worded as the features word it ({@link Refusal#invalidField}). */
    public static ApiProblem invalidField(String field, String message) {
        return of(Refusal.invalidField(field, message));
    }

    public static ApiProblem notFound(String what, String id) {
        return of(Refusal.notFound(what, id));
    }

    /** A feature's refusal as a problem: the one place a domain kind becomes a type (and with it a status). */
    static ApiProblem of(Refusal refusal) {
        Type type = switch (refusal.kind()) {
            case INVALID_REQUEST -> Type.INVALID_REQUEST;
            case NOT_FOUND -> Type.NOT_FOUND;
            case CONFLICT -> Type.CONFLICT;
            case PAYLOAD_TOO_LARGE -> Type.PAYLOAD_TOO_LARGE;
            case QUOTA_EXCEEDED -> Type.QUOTA_EXCEEDED;
            case INVALID_FILE -> Type.INVALID_FILE;
            case ADAPTER_MISMATCH -> Type.ADAPTER_MISMATCH;
            case STORAGE_UNAVAILABLE -> Type.STORAGE_UNAVAILABLE;
            case SERVING_CAPACITY -> Type.SERVING_CAPACITY;
            case EXCEEDS_SERVING_BUDGET -> Type.EXCEEDS_SERVING_BUDGET;
        };
        return new ApiProblem(type, refusal.getMessage(), refusal.errors());
    }

    public Type type() {
        return type;
    }

    public List<FieldError> errors() {
        return errors;
    }
}
