package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * A sequence says whether it needs its logits: only a greedy one without logprobs does not, and it then takes a
 * greedy choice made elsewhere (a batch's torch.argmax) exactly as it would have chosen from the logits.
 */
class DecodingTest {

    private static final long[] PROMPT = {1, 2, 3};
    private static final float[] LOGITS = {0.5f, 2f, -1f, 2f, 1.5f}; // largest first at index 1 (tie with 3)

    private static Decoding decoding(GenerationOptions options) {
        return new Decoding(PROMPT, options, new long[] {4}, null, TokenListener.NONE);
    }

    @Test
    void onlyAGreedySequenceWithoutLogprobsCanDoWithoutItsLogits() {
        assertThat(decoding(GenerationOptions.greedy(3)).needsLogits()).isFalse();
        assertThat(decoding(GenerationOptions.greedy(3).withLogprobs(0)).needsLogits()).isTrue();
        assertThat(decoding(GenerationOptions.greedy(3).withSampling(0.8, 1.0, OptionalLong.of(7))).needsLogits()).isTrue();
    }

    @Test
    void aChoiceMadeElsewhereEndsTheSameAsOneMadeFromTheLogits() {
        Decoding fromLogits = decoding(GenerationOptions.greedy(3));
        Decoding fromArgmax = decoding(GenerationOptions.greedy(3));
        for (int step = 0; step < 3; step++) {
            boolean endedA = fromLogits.accept(LOGITS);
            boolean endedB = fromArgmax.acceptArgmax(TokenSampler.argmax(LOGITS));
            assertThat(endedB).isEqualTo(endedA);
        }
        GenerationResult a = fromLogits.result();
        GenerationResult b = fromArgmax.result();
        assertThat(b.generatedIds()).containsExactly(a.generatedIds()).containsExactly(1, 1, 1);
        assertThat(b.finishReason()).isEqualTo(a.finishReason());

        Decoding stopped = decoding(GenerationOptions.greedy(3));
        assertThat(stopped.acceptArgmax(4)).as("a stop id ends it").isTrue();
        assertThat(stopped.result().finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
    }

    @Test
    void aSequenceThatNeedsItsLogitsRefusesAChoiceMadeElsewhere() {
        Decoding withLogprobs = decoding(GenerationOptions.greedy(3).withLogprobs(2));
        assertThatThrownBy(() -> withLogprobs.acceptArgmax(1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("needs the logits");
        assertThat(withLogprobs.count()).isZero();
    }
}
