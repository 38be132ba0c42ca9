package dev.peftd.core.tokenizer;

/** The chat template refused the conversation ({@code raise_exception}) or failed to render. */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
