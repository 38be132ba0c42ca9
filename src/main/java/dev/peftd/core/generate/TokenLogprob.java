package dev.peftd.core.generate;

import java.util.List;

/**
 * Log-probability of a generated token under the model (log-softmax of the raw logits, before temperature and
 * top-p, as OpenAI and vLLM report it), with the most likely alternatives at that position.
 *
 * @param top most likely tokens first; empty when no alternatives were asked for
 */
public record TokenLogprob(long tokenId, String token, double logprob, List<Alternative> top) {

    public record Alternative(long tokenId, String token, double logprob) {
    }
}
