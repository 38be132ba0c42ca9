package dev.peftd.core.train;

import dev.peftd.core.train.data.TokenizedExample;
import java.util.List;

/**
 * Tokenized training and validation sets.
 *
 * @param padId id written after the end of shorter sequences in a batch (never a loss target, never attended to by
 *              real tokens under causal attention)
 */
public record TrainingData(List<TokenizedExample> train, List<TokenizedExample> eval, int padId) {

    public TrainingData {
        train = List.copyOf(train);
        eval = List.copyOf(eval);
        if (train.isEmpty()) {
            throw new IllegalArgumentException("training data: no examples");
        }
    }
}
