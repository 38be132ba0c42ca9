package dev.peftd.serving;

import dev.peftd.kernel.Refusal;
import java.util.List;

/** A request field the serving API cannot honour (HTTP 400); {@link #param()} is OpenAI's name for the field. */
public class InvalidRequestException extends Refusal {

    private final String param;

    public InvalidRequestException(String param, String reason) {
        super(Kind.INVALID_REQUEST, param + ": " + reason, List.of(new FieldError(param, reason)));
        this.param = param;
    }

    public String param() {
        return param;
    }
}
