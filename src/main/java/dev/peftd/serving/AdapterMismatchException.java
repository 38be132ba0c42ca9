package dev.peftd.serving;

import dev.peftd.kernel.Refusal;
import java.util.List;

/**
 * An uploaded adapter that does not fit its base model (HTTP 422): {@link #offending()} names the first tensor (or
 * config field) that is wrong, and the message says why.
 */
public class AdapterMismatchException extends Refusal {

    private final String offending;

    /** {@code baseModel} is the name the client knows the base model by. */
    public AdapterMismatchException(String offending, String baseModel, String message, Throwable cause) {
        super(Kind.ADAPTER_MISMATCH, message,
                List.of(new FieldError(offending, "does not fit base model '" + baseModel + "'")), cause);
        this.offending = offending;
    }

    public String offending() {
        return offending;
    }
}
