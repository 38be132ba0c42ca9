package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The comparison the batching tests make: the same tokens, text and finish, and logprobs within 1e-4. */
public final class GenerationResults {

    private GenerationResults() {
    }

    public static void assertSame(GenerationResult actual, GenerationResult expected, String what) {
        assertThat(actual.generatedIds()).as(what).containsExactly(expected.generatedIds());
        assertThat(actual.text()).as(what).isEqualTo(expected.text());
        assertThat(actual.finishReason()).as(what).isEqualTo(expected.finishReason());
        assertThat(actual.logprobs()).as(what).hasSameSizeAs(expected.logprobs());
        for (int t = 0; t < expected.logprobs().size(); t++) {
            TokenLogprob a = actual.logprobs().get(t);
            TokenLogprob e = expected.logprobs().get(t);
            assertThat(a.logprob()).as(what + " token " + t).isCloseTo(e.logprob(), within(1e-4));
            for (int k = 0; k < e.top().size(); k++) {
                assertThat(a.top().get(k).tokenId()).as(what + " token " + t).isEqualTo(e.top().get(k).tokenId());
                assertThat(a.top().get(k).logprob()).as(what + " token " + t).isCloseTo(e.top().get(k).logprob(), within(1e-4));
            }
        }
    }
}
