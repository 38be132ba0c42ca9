package dev.peftd.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.KvCache;
import dev.peftd.core.tensor.NoGrad;

/**
 * Times prefill and greedy decoding with the KV cache for a batch of synthetic prompts: the loop transformers users
 * write by hand ({@code model(ids, past_key_values=cache)}, argmax, feed back), so that both sides run the same
 * algorithm. tools/bench/generate_bench.py builds the same prompts with the same formula.
 */
public final class DecodeBenchmark {

    /** @param prefillNanos time of the forward pass over the prompt; decodeNanos of the {@code newTokens - 1} steps after */
    public record Timing(long prefillNanos, long decodeNanos) {
    }

    private DecodeBenchmark() {
    }

    /** Row {@code b}, position {@code i}: {@code (17 + 31 i + 7 b) mod vocab}, far from any special token pattern. */
    public static long[] syntheticPrompt(int batch, int length, int vocab) {
        long[] ids = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < length; i++) {
                ids[b * length + i] = (17L + 31L * i + 7L * b) % vocab;
            }
        }
        return ids;
    }

    /** One prefill of {@code [batch, promptLength]} and {@code newTokens - 1} single-token steps. */
    public static Timing run(CausalLm model, int batch, int promptLength, int newTokens) {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             KvCache cache = model.newCache()) {
            long start = System.nanoTime();
            long[] next = step(model, manager, cache,
                    syntheticPrompt(batch, promptLength, model.config().vocabSize()), batch, promptLength);
            long prefilled = System.nanoTime();
            for (int i = 1; i < newTokens; i++) {
                next = step(model, manager, cache, next, batch, 1);
            }
            return new Timing(prefilled - start, System.nanoTime() - prefilled);
        }
    }

    /** Feeds {@code [batch, length]} ids and returns each row's argmax next token. */
    private static long[] step(CausalLm model, NDManager manager, KvCache cache, long[] ids, int batch, int length) {
        try (NDScope scope = new NDScope()) {
            NDArray input = manager.create(ids, new Shape(batch, length)); // [B, T]
            NDArray logits = model.forward(input, cache, null);            // [B, T, vocab]
            return logits.get(":, -1, :").argMax(-1).toLongArray();        // [B]
        }
    }
}
