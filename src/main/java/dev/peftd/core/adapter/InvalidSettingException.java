package dev.peftd.core.adapter;

/**
 * A method setting that cannot be used, of the adapter or of its training: {@link #field()} names it (the API's
 * snake_case name, e.g. {@code lora_alpha}, or a path below it such as {@code target_modules[1]}) and
 * {@link #reason()} says why. The message is {@code field: reason}, so a log line needs nothing else. Callers that
 * address settings by another name (a JSON path, a command-line option) re-address the refusal with {@link #at}.
 */
public class InvalidSettingException extends IllegalArgumentException {

    private final String field;
    private final String reason;

    public InvalidSettingException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
        this.reason = reason;
    }

    public String field() {
        return field;
    }

    public String reason() {
        return reason;
    }

    /** The same refusal, addressed to the setting under another name, e.g. {@code method.lora.hyperparameters.r}. */
    public InvalidSettingException at(String name) {
        InvalidSettingException moved = new InvalidSettingException(name, reason);
        moved.initCause(this);
        return moved;
    }
}
