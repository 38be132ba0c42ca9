package dev.peftd.core.tokenizer;

/** A tokenizer directory that cannot be used: missing or unreadable file, malformed JSON, unknown special token. */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
