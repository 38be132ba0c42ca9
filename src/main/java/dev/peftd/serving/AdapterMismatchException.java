package dev.peftd.serving;

/**
 * An uploaded adapter that does not fit its base model (HTTP 422): {@link #offending()} names the first tensor (or
 * config field) that is wrong, and the message says why.
 */
public class AdapterMismatchException extends RuntimeException {

    private final String offending;

    public AdapterMismatchException(String offending, String message, Throwable cause) {
        super(message, cause);
        this.offending = offending;
    }

    public String offending() {
        return offending;
    }
}
