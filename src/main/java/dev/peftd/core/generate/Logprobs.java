package dev.peftd.core.generate;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.LongFunction;

/** Log-softmax of one position's raw logits and its top-k, computed in double on the heap copy of the logits. */
final class Logprobs {

    private Logprobs() {
    }

    /**
     * @param logits       {@code [vocab]} raw scores
     * @param alternatives how many most likely tokens to list (0: none)
     * @param tokenText    token id to its text, for display
     */
    static TokenLogprob of(float[] logits, int chosen, int alternatives, LongFunction<String> tokenText) {
        double logNormalizer = logSumExp(logits);
        List<TokenLogprob.Alternative> top = new ArrayList<>();
        for (int index : topK(logits, alternatives)) {
            top.add(new TokenLogprob.Alternative(index, tokenText.apply(index), logits[index] - logNormalizer));
        }
        return new TokenLogprob(chosen, tokenText.apply(chosen), logits[chosen] - logNormalizer, List.copyOf(top));
    }

    static double logSumExp(float[] logits) {
        float max = logits[TokenSampler.argmax(logits)];
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        return max + Math.log(sum);
    }

    /** Indices of the k largest logits, largest first (ties: lower index first). */
    static int[] topK(float[] logits, int k) {
        if (k <= 0) {
            return new int[0];
        }
        // min-heap of the best k so far; the root is the weakest of them
        PriorityQueue<Integer> heap = new PriorityQueue<>(k + 1, (a, b) -> logits[a] != logits[b]
                ? Float.compare(logits[a], logits[b]) : Integer.compare(b, a));
        for (int i = 0; i < logits.length; i++) {
            if (heap.size() < k) {
                heap.add(i);
            } else if (logits[i] > logits[heap.peek()]) {
                heap.poll();
                heap.add(i);
            }
        }
        int[] best = new int[heap.size()];
        for (int j = best.length - 1; j >= 0; j--) {
            best[j] = heap.poll();
        }
        return best;
    }
}
