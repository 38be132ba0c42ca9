package dev.peftd.core.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tensor.NoGrad;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongFunction;

/**
 * How well a model predicts a token sequence: the log-probability of every token given the ones before it
 * (transformers' loss with {@code labels=input_ids}: position t predicts token t+1, the first token is not scored).
 * One forward pass over the whole sequence; the log-softmax, the gather and any top-k run on the model's device, so
 * only what is asked for reaches the heap. {@link #score} sums it into a loss (the CLI's {@code score}),
 * {@link #tokenLogprobs} lists it token by token (serving's {@code echo} with logprobs, how harnesses score text).
 */
public final class SequenceScorer {

    private final CausalLm model;

    public SequenceScorer(CausalLm model) {
        this.model = model;
    }

    /**
     * @param ids        at least two tokens
     * @param keepLogits also return the logits of every position
     */
    public SequenceScore score(long[] ids, LinearHook hook, boolean keepLogits) {
        if (ids.length < 2) {
            throw new IllegalArgumentException("scoring needs at least 2 tokens (the first one is only context), got "
                    + ids.length);
        }
        return scored(ids, hook, (logits, logProbs, chosen) -> {
            double nll = 0;
            for (float lp : chosen) {
                nll -= lp;
            }
            float[][] positions = null;
            if (keepLogits) {
                float[] flat = logits.toFloatArray();                                   // [T * vocab]
                int vocab = (int) logits.getShape().get(2);
                positions = new float[ids.length][];
                for (int t = 0; t < ids.length; t++) {
                    positions[t] = Arrays.copyOfRange(flat, t * vocab, (t + 1) * vocab);
                }
            }
            return new SequenceScore(nll, chosen.length, positions);
        });
    }

    /**
     * @param alternatives how many most likely tokens to list per position (0: none)
     * @param tokenText    token id to its text, for display
     * @return one entry per token from the second on (the first has no context to be scored by); none for one token
     */
    public List<TokenLogprob> tokenLogprobs(long[] ids, LinearHook hook, int alternatives,
                                            LongFunction<String> tokenText) {
        if (ids.length < 2) {
            return List.of();
        }
        return scored(ids, hook, (logits, logProbs, chosen) -> {
            int positions = chosen.length;
            int k = Math.min(alternatives, (int) logProbs.getShape().get(2));
            float[] topValues = new float[0];
            long[] topIds = new long[0];
            if (k > 0) {
                NDList top = logProbs.topK(k, -1, true, true);
                topValues = top.get(0).toFloatArray();                                  // [1, T-1, k]
                topIds = top.get(1).toLongArray();                                      // [1, T-1, k]
            }
            List<TokenLogprob> out = new ArrayList<>(positions);
            for (int p = 0; p < positions; p++) {
                List<TokenLogprob.Alternative> alts = new ArrayList<>(k);
                for (int j = 0; j < k; j++) {
                    long id = topIds[p * k + j];
                    alts.add(new TokenLogprob.Alternative(id, tokenText.apply(id), topValues[p * k + j]));
                }
                long id = ids[p + 1];
                out.add(new TokenLogprob(id, tokenText.apply(id), chosen[p], List.copyOf(alts)));
            }
            return out;
        });
    }

    /** What to take from one scoring pass while its arrays are alive. */
    @FunctionalInterface
    private interface Reading<T> {
        /**
         * @param logits   {@code [1, T, vocab]}
         * @param logProbs {@code [1, T-1, vocab]}, position t's distribution over token t+1
         * @param chosen   {@code [T-1]} the log-probability of each actual next token
         */
        T read(NDArray logits, NDArray logProbs, float[] chosen);
    }

    private <T> T scored(long[] ids, LinearHook hook, Reading<T> reading) {
        if (model.config().rope() == null && ids.length > model.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("the sequence has " + ids.length + " tokens; the model's context window is "
                    + model.config().maxPositionEmbeddings());
        }
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager(device());
             NDScope scope = new NDScope()) {
            NDArray input = manager.create(ids, new Shape(1, ids.length));              // [1, T] int64
            NDArray logits = model.forward(input, null, hook);                          // [1, T, vocab]
            NDArray logProbs = logits.get(":, :-1, :").logSoftmax(-1);                  // [1, T-1, vocab]
            NDArray targets = input.get(":, 1:").expandDims(-1);                        // [1, T-1, 1]
            float[] chosen = logProbs.gather(targets, -1).toFloatArray();               // [T-1]
            return reading.read(logits, logProbs, chosen);
        }
    }

    /** Where the model's weights are: the input must be there too. */
    private Device device() {
        return model.linears().values().iterator().next().device();
    }
}
