package dev.peftd.core.generate;

/** Receives every generated token as soon as it is chosen (for streaming responses). Runs on the generating thread. */
@FunctionalInterface
public interface TokenListener {

    TokenListener NONE = token -> { };

    void onToken(GeneratedToken token);
}
