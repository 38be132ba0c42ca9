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
 * Two adapters and the bare base, requested in parallel many times on one shared base model: every answer
 * (sampled text, token logprobs, alternatives) is identical to the same request made alone, so no request ever
 * sees another's adapter weights.
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
            List<String> alone = new ArrayList<>();
            for (ServedModel model : models) {
                CompletionRequest request = CompletionRequest.of(model.name(), "the quick brown fox", 12)
                        .withLogprobs(3, false).withSampling(0.9, 0.95, 1234L);
                requests.add(request);
                alone.add(answer(serving, model, request));
            }
            assertEquals(3, alone.stream().distinct().count(), "the three models must answer differently: " + alone);

            List<Integer> order = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                for (int m = 0; m < models.size(); m++) {
                    order.add(m);
                }
            }
            Collections.shuffle(order, new Random(7));
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<String>> answers = new ArrayList<>();
                for (int m : order) {
                    answers.add(pool.submit(() -> answer(serving, models.get(m), requests.get(m))));
                }
                for (int i = 0; i < order.size(); i++) {
                    int m = order.get(i);
                    assertEquals(alone.get(m), answers.get(i).get(), "request " + i + " for " + models.get(m).name());
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(2, serving.engine.adapters().size(), "each adapter loaded once");
            assertEquals(2.0, serving.counter("peftd.serving.adapter.cache.misses"));
            assertNotEquals(0.0, serving.counter("peftd.serving.adapter.cache.hits"));
        }
    }

    /** Everything a client sees of the answer, as one comparable string. */
    private static String answer(ServingFixtures serving, ServedModel model, CompletionRequest request) {
        CompletionResponse response = serving.completions.complete(model, request);
        CompletionResponse.Choice choice = response.choices().get(0);
        return choice.text() + "|" + choice.finishReason() + "|" + choice.logprobs().tokens() + "|"
                + choice.logprobs().tokenLogprobs() + "|" + choice.logprobs().topLogprobs() + "|" + response.usage();
    }
}
