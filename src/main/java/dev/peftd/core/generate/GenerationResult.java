package dev.peftd.core.generate;

import java.util.List;

/**
 * @param promptIds    the prompt as given
 * @param generatedIds every generated token, including the stop token or the tokens of a stop string
 * @param text         the generated text (no special tokens, stop string cut off); exactly the concatenation of the
 *                     streamed pieces
 * @param logprobs     one per generated token, empty unless asked for
 */
public record GenerationResult(long[] promptIds, long[] generatedIds, String text, FinishReason finishReason,
                               List<TokenLogprob> logprobs) {

    /** Prompt ids followed by generated ids, as transformers' {@code generate} returns them. */
    public long[] allIds() {
        long[] all = java.util.Arrays.copyOf(promptIds, promptIds.length + generatedIds.length);
        System.arraycopy(generatedIds, 0, all, promptIds.length, generatedIds.length);
        return all;
    }
}
