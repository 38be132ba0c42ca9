package dev.peftd.core.generate;

/**
 * One step of generation as the streaming callback sees it.
 *
 * @param index   0 for the first generated token
 * @param text    text released by this step: may be empty (half a multi-byte character, or text held back because
 *                it could be the start of a stop string) or include text of earlier tokens released now
 * @param logprob {@code null} unless logprobs were asked for
 */
public record GeneratedToken(int index, long tokenId, String text, TokenLogprob logprob) {
}
