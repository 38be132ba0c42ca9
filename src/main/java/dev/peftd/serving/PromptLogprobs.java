package dev.peftd.serving;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.model.LinearHook;
import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities of a prompt's own tokens, each given the ones before it (what {@code echo} with
 * {@code max_tokens: 0} returns, and how evaluation harnesses score text). One forward pass over the whole prompt;
 * the log-softmax, the gather and the top-k run on the device so only {@code T·(k+1)} numbers reach the heap.
 */
final class PromptLogprobs {

    private PromptLogprobs() {
    }

    /**
     * @param ids          the prompt, at least one token
     * @param alternatives how many most likely tokens to list per position (0: none)
     * @return one entry per prompt token from the second on (the first token has no context to be scored by)
     */
    static List<TokenLogprob> of(LoadedBase base, long[] ids, LinearHook hook, int alternatives) {
        List<TokenLogprob> out = new ArrayList<>();
        if (ids.length < 2) {
            return out;
        }
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try (NDManager manager = NDManager.newBaseManager(base.model().linears().values().iterator().next()
                .weight().getDevice()); NDScope scope = new NDScope()) {
            int t = ids.length;
            NDArray input = manager.create(ids, new Shape(1, t));                        // [1, T] int64
            NDArray logits = base.model().forward(input, null, hook);                     // [1, T, vocab]
            NDArray logProbs = logits.get("0, :-1, :").logSoftmax(-1);                    // [T-1, vocab]
            NDArray targets = input.get("0, 1:").expandDims(-1);                           // [T-1, 1]
            float[] chosen = logProbs.gather(targets, -1).toFloatArray();                // [T-1]
            float[] topValues = new float[0];
            long[] topIds = new long[0];
            if (alternatives > 0) {
                NDList top = logProbs.topK(Math.min(alternatives, (int) logProbs.getShape().get(1)), -1, true, true);
                topValues = top.get(0).toFloatArray();                                    // [T-1, k]
                topIds = top.get(1).toLongArray();                                        // [T-1, k]
            }
            int k = (t - 1) == 0 ? 0 : topIds.length / (t - 1);
            for (int p = 0; p < t - 1; p++) {
                List<TokenLogprob.Alternative> alts = new ArrayList<>(k);
                for (int j = 0; j < k; j++) {
                    long id = topIds[p * k + j];
                    alts.add(new TokenLogprob.Alternative(id, base.tokenizer().tokenText(id), topValues[p * k + j]));
                }
                long id = ids[p + 1];
                out.add(new TokenLogprob(id, base.tokenizer().tokenText(id), chosen[p], List.copyOf(alts)));
            }
            return out;
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }
}
