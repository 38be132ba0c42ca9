package dev.peftd.serving;

/** A request field the serving API cannot honour (HTTP 400); {@link #param()} is OpenAI's name for the field. */
public class InvalidRequestException extends IllegalArgumentException {

    private final String param;

    public InvalidRequestException(String param, String reason) {
        super(param + ": " + reason);
        this.param = param;
    }

    public String param() {
        return param;
    }
}
