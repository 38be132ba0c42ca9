package dev.peftd.core.train;

/**
 * A pass over validation examples with dropout off and no gradients.
 *
 * @param loss          token-mean cross-entropy over the loss-bearing tokens
 * @param tokenAccuracy share of those tokens whose argmax next-token prediction is the target
 * @param tokens        loss-bearing tokens evaluated
 * @param examples      validation examples evaluated
 */
public record Evaluation(double loss, double tokenAccuracy, long tokens, int examples) {
}
