package dev.peftd.core.adapter;

/**
 * An adapter configuration that cannot be used, or one that does not fit the model. The message always starts with
 * the field it is about (PEFT's name for it, e.g. {@code lora_alpha}) and says why.
 */
public class AdapterConfigException extends IllegalArgumentException {

    public AdapterConfigException(String field, String reason) {
        super(field + ": " + reason);
    }
}
