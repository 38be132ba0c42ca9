package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The two readings of a sequence agree: the token-by-token log-probabilities ({@link BatchScorer}, serving's echo)
 * sum to minus the loss that {@code score} reports (the CLI's score, checked against transformers in ScoreCommandTest), and each
 * position's top alternatives are sorted and bound the chosen token's log-probability from above.
 */
class SequenceScorerTest {

    @Test
    void tokenLogprobsSumToTheScoredLossWithSortedAlternatives() throws Exception {
        long[] ids = {1, 15, 27, 300, 42, 9, 120, 77};
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu())) {
            SequenceScorer scorer = new SequenceScorer(model);
            SequenceScore score = scorer.score(ids, null, false);
            List<TokenLogprob> tokens = tokenLogprobs(model, ids, 3, id -> "#" + id);

            assertThat(tokens).hasSize(ids.length - 1);
            assertThat(tokens.stream().mapToDouble(TokenLogprob::logprob).sum())
                    .isCloseTo(-score.negativeLogLikelihood(), within(1e-4));
            for (int p = 0; p < tokens.size(); p++) {
                TokenLogprob token = tokens.get(p);
                assertThat(token.tokenId()).isEqualTo(ids[p + 1]);
                assertThat(token.token()).isEqualTo("#" + ids[p + 1]);
                assertThat(token.top()).hasSize(3);
                assertThat(token.top().get(0).logprob()).isGreaterThanOrEqualTo(token.top().get(1).logprob())
                        .isGreaterThanOrEqualTo(token.logprob() - 1e-6);
                assertThat(token.top().get(1).logprob()).isGreaterThanOrEqualTo(token.top().get(2).logprob());
            }
            assertThat(tokenLogprobs(model, new long[] {1}, 3, id -> "")).isEmpty();
            assertThat(tokenLogprobs(model, ids, 0, id -> "").get(0).top()).isEmpty();
        }
    }

    private static List<TokenLogprob> tokenLogprobs(CausalLm model, long[] ids, int alternatives,
                                                    java.util.function.LongFunction<String> text) {
        return new BatchScorer(model, new BatchScorer.Budget(1, 1 << 20))
                .tokenLogprobs(List.of(new BatchScorer.Item(ids, null, alternatives)), text).get(0);
    }
}
