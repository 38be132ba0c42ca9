package dev.peftd.core.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tensor.NoGrad;
import java.util.Arrays;

/**
 * How well a model predicts a token sequence: the log-probability of every token given the ones before it
 * (transformers' loss with {@code labels=input_ids}: position t predicts token t+1, the first token is not scored).
 * One forward pass over the whole sequence; the log-softmax, the gather and any top-k run on the model's device, so
 * only what is asked for reaches the heap. {@link #score} sums it into a loss (the CLI's {@code score});
 * {@link BatchScorer} lists it token by token for many sequences at once (serving's {@code echo} with logprobs).
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
        }
    }

    /** Where the model's weights are: the input must be there too. */
    private Device device() {
        return model.linears().values().iterator().next().device();
    }
}
