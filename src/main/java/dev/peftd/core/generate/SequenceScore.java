package dev.peftd.core.generate;

/**
 * @param negativeLogLikelihood sum over the scored tokens, in nats
 * @param scoredTokens          tokens predicted (sequence length - 1)
 * @param logits                {@code [T][vocab]} raw logits per input position, or {@code null} when not kept
 */
public record SequenceScore(double negativeLogLikelihood, int scoredTokens, float[][] logits) {

    /** Mean loss over the scored tokens, as transformers reports it. */
    public double meanLoss() {
        return negativeLogLikelihood / scoredTokens;
    }

    /** Pools several scores token-weighted (the mean over all their tokens, not the mean of means). */
    public static double meanLoss(Iterable<SequenceScore> scores) {
        double nll = 0;
        long tokens = 0;
        for (SequenceScore score : scores) {
            nll += score.negativeLogLikelihood();
            tokens += score.scoredTokens();
        }
        return nll / tokens;
    }
}
