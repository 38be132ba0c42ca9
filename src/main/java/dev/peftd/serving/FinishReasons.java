package dev.peftd.serving;

import dev.peftd.core.generate.FinishReason;
import dev.peftd.core.generate.GenerationResult;

/** OpenAI's {@code finish_reason} values for the generator's reasons. */
final class FinishReasons {

    private FinishReasons() {
    }

    static String of(FinishReason reason) {
        return reason == FinishReason.LENGTH ? "length" : "stop";
    }

    /** {@code max_tokens: 0} generates nothing: the answer stopped at its length limit. */
    static String of(GenerationResult resultOrNull) {
        return resultOrNull == null ? "length" : of(resultOrNull.finishReason());
    }
}
