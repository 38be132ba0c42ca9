package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two adapters and the bare base, requested in parallel many times on one shared base model: every answer (sampled
 * text, tokens, alternatives) is identical to the same request made alone and its logprobs equal within 1e-4 (the
 * requests share forward passes, whose batched GEMMs round differently from one row's), so no request ever sees
 * another's adapter weights.
 */
class ConcurrentAdaptersTest {

    private static final int ROUNDS = 8;
    private static final int THREADS = 6;

    @Test
    void parallelRequestsForDifferentAdaptersEqualTheSameRequestsAlone() throws Exception {
        try (ServingFixtures serving = new ServingFixtures(64L << 20, THREADS)) {
            List<ServedModel> models = List.of(ServingFixtures.base("tiny-llama"),
                    ServingFixtures.adapter("llama-lora", "tiny-llama"),
                    ServingFixtures.adapter("llama-vera", "tiny-llama"));
            List<CompletionRequest> requests = new ArrayList<>();
            List<CompletionResponse> alone = new ArrayList<>();
            for (ServedModel model : models) {
                CompletionRequest request = CompletionRequest.of(model.name(), "the quick brown fox", 12)
                        .withLogprobs(3, false).withSampling(0.9, 0.95, 1234L);
                requests.add(request);
                alone.add(answer(serving, model, request));
            }
            assertEquals(3, alone.stream().map(a -> a.choices().get(0).text()).distinct().count(),
                    "the three models must answer differently");

            List<Integer> order = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                for (int m = 0; m < models.size(); m++) {
                    order.add(m);
                }
            }
            Collections.shuffle(order, new Random(7));
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<CompletionResponse>> answers = new ArrayList<>();
                for (int m : order) {
                    answers.add(pool.submit(() -> answer(serving, models.get(m), requests.get(m))));
                }
                for (int i = 0; i < order.size(); i++) {
                    int m = order.get(i);
                    assertSameAnswer(alone.get(m), answers.get(i).get(), "request " + i + " for " + models.get(m).name());
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(2, serving.engine.adapters().size(), "each adapter loaded once");
            assertEquals(2.0, serving.counter("peftd.serving.adapter.cache.misses"));
            assertNotEquals(0.0, serving.counter("peftd.serving.adapter.cache.hits"));
        }
    }

    private static CompletionResponse answer(ServingFixtures serving, ServedModel model, CompletionRequest request) {
        return serving.completions.complete(model, request);
    }

    /** Everything a client sees of the answer: equal, the logprobs within 1e-4. */
    private static void assertSameAnswer(CompletionResponse expected, CompletionResponse actual, String what) {
        CompletionResponse.Choice e = expected.choices().get(0);
        CompletionResponse.Choice a = actual.choices().get(0);
        assertEquals(e.text() + "|" + e.finishReason() + "|" + e.logprobs().tokens() + "|" + expected.usage(),
                a.text() + "|" + a.finishReason() + "|" + a.logprobs().tokens() + "|" + actual.usage(), what);
        for (int t = 0; t < e.logprobs().tokenLogprobs().size(); t++) {
            assertEquals(e.logprobs().tokenLogprobs().get(t), a.logprobs().tokenLogprobs().get(t), 1e-4, what);
            assertEquals(e.logprobs().topLogprobs().get(t).keySet(), a.logprobs().topLogprobs().get(t).keySet(), what);
            for (var top : e.logprobs().topLogprobs().get(t).entrySet()) {
                assertEquals(top.getValue(), a.logprobs().topLogprobs().get(t).get(top.getKey()), 1e-4, what);
            }
        }
    }
}
