package dev.peftd.api;

import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.kernel.Refusal;
import java.util.List;
import org.springframework.boot.servlet.autoconfigure.MultipartProperties;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.util.unit.DataSize;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error leaves as RFC 9457 problem+json with a stable {@code type} and, where a field is at fault, an
 * {@code errors: [{field, message}]} list. Spring's own MVC errors (bad JSON, missing parts, wrong method) keep their
 * status but get our type URIs and the field names.
 */
@RestControllerAdvice
class ProblemHandler extends ResponseEntityExceptionHandler {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ProblemHandler.class);

    private final DataSize maxFileSize;
    private final DataSize maxRequestSize;

    /** Spring's own record of {@code spring.servlet.multipart.*} (set from {@code PEFTD_FILES_MAX_SIZE}). */
    ProblemHandler(MultipartProperties multipart) {
        this.maxFileSize = multipart.getMaxFileSize();
        this.maxRequestSize = multipart.getMaxRequestSize();
    }

    @ExceptionHandler(ApiProblem.class)
    ResponseEntity<ProblemDetail> apiProblem(ApiProblem problem) {
        ResponseEntity.BodyBuilder response = ResponseEntity.status(problem.type().status);
        if (problem.type().retryAfterSeconds != null) {
            response.header(HttpHeaders.RETRY_AFTER, String.valueOf(problem.type().retryAfterSeconds));
        }
        return response.body(render(problem));
    }

    static ProblemDetail render(ApiProblem problem) {
        ProblemDetail body = ProblemDetail.forStatusAndDetail(problem.type().status, problem.getMessage());
        body.setType(problem.type().uri);
        body.setTitle(problem.type().title);
        if (!problem.errors().isEmpty()) {
            body.setProperty("errors", problem.errors());
        }
        return body;
    }

    /** A request a feature refused: its kind names the problem type, its fields become {@code errors}. */
    @ExceptionHandler(Refusal.class)
    ResponseEntity<ProblemDetail> refusal(Refusal refusal) {
        return apiProblem(ApiProblem.of(refusal));
    }

    /**
     * A setting the core refused ({@code dev.peftd.core.train.MethodSettings}, adapter configs): a 400 naming the
     * field, addressed by the feature that read it (a JSON path such as {@code method.lora.hyperparameters.r}).
     */
    @ExceptionHandler(InvalidSettingException.class)
    ResponseEntity<ProblemDetail> invalidSetting(InvalidSettingException e) {
        return apiProblem(ApiProblem.invalidField(e.field(), e.reason()));
    }

    /** A body that went past the limit while a controller read it itself (parsers' errors arrive wrapped, below). */
    @ExceptionHandler(BodySizeLimitFilter.BodyTooLargeException.class)
    ResponseEntity<ProblemDetail> bodyTooLarge(BodySizeLimitFilter.BodyTooLargeException e) {
        return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE).body(render(BodySizeLimitFilter.tooLarge(e.maxBytes)));
    }

    /**
     * No connection within the pool's {@code connection-timeout} (5 s): a 503 the client may retry, not a 500. The
     * cause stays in the log; liveness and readiness report the lost database (DatabaseLiveness in ops).
     */
    @ExceptionHandler({DataAccessResourceFailureException.class, TransientDataAccessResourceException.class,
            CannotCreateTransactionException.class})
    ResponseEntity<ProblemDetail> databaseUnavailable(Exception e) {
        log.warn("database unavailable: {}", e.getMessage());
        return apiProblem(new ApiProblem(ApiProblem.Type.DATABASE_UNAVAILABLE, "the database is not reachable; retry later"));
    }

    /** Anything unexpected is a 500 problem, logged with its stack; the client sees no internals beyond the class. */
    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        log.error("unhandled error", e);
        ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.INTERNAL_SERVER_ERROR,
                "internal error (" + e.getClass().getSimpleName() + "); see the server log");
        body.setType(java.net.URI.create(ApiProblem.Type.BASE + "internal-error"));
        body.setTitle("Internal error");
        return ResponseEntity.internalServerError().body(body);
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex, HttpHeaders headers,
            HttpStatusCode status, WebRequest request) {
        List<Refusal.FieldError> errors = ex.getBindingResult().getFieldErrors().stream()
                .map(e -> new Refusal.FieldError(e.getField(), e.getDefaultMessage()))
                .toList();
        String detail = errors.stream().map(e -> e.field() + ": " + e.message()).reduce((a, b) -> a + "; " + b)
                .orElse("invalid request");
        return ResponseEntity.badRequest().body(render(new ApiProblem(ApiProblem.Type.INVALID_REQUEST, detail, errors)));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex, HttpHeaders headers,
            HttpStatusCode status, WebRequest request) {
        for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
            if (cause instanceof BodySizeLimitFilter.BodyTooLargeException tooLarge) { // a chunked body past the limit
                return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE)
                        .body(render(BodySizeLimitFilter.tooLarge(tooLarge.maxBytes)));
            }
        }
        // The message names the JSON path and the mismatch; the parser's own message is the most precise reason we have.
        String reason = ex.getMostSpecificCause().getMessage();
        if (reason != null && reason.length() > 300) {
            reason = reason.substring(0, 300) + "…";
        }
        return ResponseEntity.badRequest().body(render(new ApiProblem(ApiProblem.Type.INVALID_REQUEST,
                "request body is not valid JSON for this endpoint: " + reason)));
    }

    @Override
    protected ResponseEntity<Object> handleMaxUploadSizeExceededException(MaxUploadSizeExceededException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        long limit = uploadLimit(ex);
        return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE).body(render(new ApiProblem(
                ApiProblem.Type.PAYLOAD_TOO_LARGE, "upload exceeds the limit of " + limit + " bytes",
                List.of(new Refusal.FieldError("file", "larger than " + limit + " bytes")))));
    }

    /**
     * The limit that was exceeded. Servlet multipart parsing reports -1 (unknown) and wraps the container's own
     * exception, whose class tells a single part over {@code max-file-size} from a request over
     * {@code max-request-size}.
     */
    private long uploadLimit(MaxUploadSizeExceededException ex) {
        if (ex.getMaxUploadSize() >= 0) {
            return ex.getMaxUploadSize();
        }
        for (Throwable t = ex.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
            if (t.getClass().getSimpleName().equals("FileSizeLimitExceededException")) {
                return maxFileSize.toBytes();
            }
        }
        return maxRequestSize.toBytes();
    }

    @Override
    protected ResponseEntity<Object> handleExceptionInternal(Exception ex, Object body, HttpHeaders headers,
            HttpStatusCode statusCode, WebRequest request) {
        ResponseEntity<Object> response = super.handleExceptionInternal(ex, body, headers, statusCode, request);
        if (response != null && response.getBody() instanceof ProblemDetail detail
                && (detail.getType() == null || "about:blank".equals(String.valueOf(detail.getType())))) {
            detail.setType(java.net.URI.create(ApiProblem.Type.BASE + "http-" + statusCode.value()));
        }
        return response;
    }
}
