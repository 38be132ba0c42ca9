package dev.peftd.kernel;

import java.util.List;

/**
 * A request the domain refuses: what kind of refusal, a sentence saying why, and the fields at fault. Features throw
 * it (or a subclass carrying more, such as serving's adapter mismatch) without knowing HTTP; the web edge
 * ({@code api.ProblemHandler}) maps each {@link Kind} to its problem type and status once.
 */
public class Refusal extends RuntimeException {

    /** What went wrong, in domain terms; each has exactly one problem type at the web edge. */
    public enum Kind {
        INVALID_REQUEST, NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED, INVALID_FILE, ADAPTER_MISMATCH,
        STORAGE_UNAVAILABLE,
        /** Serving's memory budget has no room now for what the request needs: models in use (a 503 to retry). */
        SERVING_CAPACITY,
        /** What the request needs is larger than serving's whole memory budget: no retry helps (the operator resizes). */
        EXCEEDS_SERVING_BUDGET
    }

    /** One field at fault: a JSON path into the request ({@code metadata.team}) or a part name ({@code file}). */
    public record FieldError(String field, String message) {
    }

    private final Kind kind;
    private final List<FieldError> errors;

    public Refusal(Kind kind, String detail, List<FieldError> errors) {
        this(kind, detail, errors, null);
    }

    public Refusal(Kind kind, String detail, List<FieldError> errors, Throwable cause) {
        super(detail, cause);
        this.kind = kind;
        this.errors = List.copyOf(errors);
    }

    public Refusal(Kind kind, String detail) {
        this(kind, detail, List.of());
    }

    /** One field refused; the detail repeats the field so that a plain log line is enough. */
    public static Refusal invalidField(String field, String reason) {
        return new Refusal(Kind.INVALID_REQUEST, field + ": " + reason, List.of(new FieldError(field, reason)));
    }

    public static Refusal notFound(String what, String id) {
        return new Refusal(Kind.NOT_FOUND, "no " + what + " with id '" + id + "'");
    }

    public Kind kind() {
        return kind;
    }

    public List<FieldError> errors() {
        return errors;
    }
}
