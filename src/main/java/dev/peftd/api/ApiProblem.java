package dev.peftd.api;

import java.net.URI;
import java.util.List;
import org.springframework.http.HttpStatus;

/**
 * A request the service refuses, with a stable problem type (RFC 9457), the HTTP status, a human sentence, and
 * the fields at fault. Thrown by any feature; {@link ProblemHandler} renders it as {@code application/problem+json}.
 */
public class ApiProblem extends RuntimeException {

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
        DATABASE_UNAVAILABLE(HttpStatus.SERVICE_UNAVAILABLE, "database-unavailable", "Database unavailable");

        public static final String BASE = "https://peftd.dev/problems/";

        final HttpStatus status;
        final URI uri;
        final String title;

        Type(HttpStatus status, String slug, String title) {
            this.status = status;
            this.uri = URI.create(BASE + slug);
            this.title = title;
        }
    }

    /** One field at fault: a JSON path into the request ({@code method.lora.hyperparameters.r}) or a part name. */
    public record FieldError(String field, String message) {
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

    /** A 400 about one field; the detail repeats the field so that a plain log line is enough. */
    public static ApiProblem invalidField(String field, String message) {
        return new ApiProblem(Type.INVALID_REQUEST, field + ": " + message, List.of(new FieldError(field, message)));
    }

    public static ApiProblem notFound(String what, String id) {
        return new ApiProblem(Type.NOT_FOUND, "no " + what + " with id '" + id + "'");
    }

    public Type type() {
        return type;
    }

    public List<FieldError> errors() {
        return errors;
    }
}
