package dev.peftd.core.generate;

/** Why generation ended. */
public enum FinishReason {
    /** A stop token (EOS) was generated. */
    STOP_TOKEN,
    /** A stop string appeared in the text; the text ends just before it. */
    STOP_STRING,
    /** {@code maxTokens} were generated, or the model's context window is full. */
    LENGTH
}
