package dev.peftd.core.adapter;

/**
 * An adapter configuration that cannot be used, or one that does not fit the model. {@link #field()} is the field
 * it is about (PEFT's name for it, e.g. {@code lora_alpha}); the message starts with it and says why.
 */
public class AdapterConfigException extends InvalidSettingException {

    public AdapterConfigException(String field, String reason) {
        super(field, reason);
    }
}
