package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.FusedOps;
import dev.peftd.core.model.LayerSegments;
import dev.peftd.core.model.Linear;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tensor.NoGrad;
import java.util.ArrayList;
import java.util.List;

/**
 * Next-token loss through the output head, computed a chunk of token rows at a time so that the {@code [B, T, vocab]}
 * logits, their log-softmax and both their gradients never exist at once (at SmolLM2's 49,152-token vocabulary and
 * 1,024 tokens that is four 192 MiB arrays at the start of backward).
 *
 * <p>Training splits the graph at the final hidden states and runs the head on a detached copy of them. A frozen
 * head (the usual case, float32 or half) needs no autograd: a product gives the logits, each chunk's loss and logit
 * gradient are computed in place, and a product gives the hidden states' gradient, rounded on a half head as autograd
 * through it would round ({@link #frozenHeadLoss}: a float32 head in one pass, a half head in passes of a few
 * rows). An adapted head backpropagates each chunk at once through autograd instead. Either way the body is then
 * backpropagated from the hidden states' gradient, layer by layer ({@link LayerSegments}); the gradients equal one
 * backward through the whole graph, only summation orders differ.
 */
final class ChunkedLoss {

    /** Logit elements per chunk of the loss: 2²⁴ float32 values, 64 MiB. */
    private static final long CHUNK_ELEMENTS = 1L << 24;

    /**
     * Logits per in-place loss chunk of a frozen head: 2²¹ float32 values, 8 MiB. The pass's logits already exist
     * there, so smaller chunks cost nothing, and each chunk's log-sum-exp makes a temporary the chunk's size
     * (libtorch's logsumexp exponentiates {@code x − max} into a new array): at 2²⁴ that was +45 MB at the peak.
     */
    private static final long IN_PLACE_CHUNK_ELEMENTS = 1L << 21;

    /**
     * Logits per pass of a frozen half head: 2²², 16 MiB of float32 (64 rows at SmolLM2's 49,152-token vocabulary),
     * so that they never exist whole (see {@link #frozenHeadLoss}).
     */
    private static final long HALF_PASS_ELEMENTS = 1L << 22;

    private ChunkedLoss() {
    }

    /**
     * What a pass over a batch gives: the loss and how many loss-bearing positions the model's most likely next token
     * got right (argmax of the logits equal to the target, over exactly the positions the loss sums over; a tie in
     * the logits goes to the lowest token id, as torch's argmax).
     *
     * @param loss    {@code Σ NLL / denominator} in training, {@code Σ NLL} in evaluation
     * @param correct loss-bearing positions whose argmax is the target
     */
    record Pass(double loss, long correct) {
    }

    /**
     * Forward and backward of {@code Σ NLL / denominator}; must run with grad mode on.
     *
     * @param ids         int64 {@code [B, T]}
     * @param targets     int64 {@code [B, T]}, token t+1 for position t
     * @param weights     float32 {@code [B, T]}, 1 where the position counts
     * @param denominator float32 scalar
     * @return the value of {@code Σ NLL / denominator}, and the correctly predicted positions
     */
    static Pass forwardBackward(CausalLm model, LinearHook hook, NDArray ids, NDArray targets, NDArray weights,
                                NDArray denominator) {
        return forwardBackward(model, hook, ids, targets, weights, denominator, CHUNK_ELEMENTS);
    }

    /** As above with at most {@code chunkElements} logits per chunk (tests force several chunks on tiny models). */
    static Pass forwardBackward(CausalLm model, LinearHook hook, NDArray ids, NDArray targets, NDArray weights,
                                NDArray denominator, long chunkElements) {
        try (LayerSegments body = model.segmentedHiddenStates(ids, hook)) {
            NDArray hidden = body.hidden();                                             // [B, T, hidden]
            Linear head = frozenHead(model, hook);
            if (head != null) {
                return frozenHeadBackward(model, head, body, hidden, targets, weights, denominator, chunkElements);
            }
            NDArray leaf = hidden.stopGradient().reshape(-1, hidden.getShape().get(2)); // [B·T, hidden]
            leaf.setRequiresGradient(true);
            double loss = 0;
            long correct = 0;
            for (long[] rows : chunks(model, leaf.getShape().get(0), chunkElements)) {
                try (NDScope ignored = new NDScope()) {
                    ChunkNll nll = chunkNll(model, hook, leaf, targets, weights, rows);
                    NDArray part = nll.sum().div(denominator);                                 // []
                    JniUtils.backward((PtNDArray) part, (PtNDArray) part.onesLike(), false, false);
                    loss += part.getFloat();
                    correct += nll.correct();
                }
            }
            try (NDArray upstream = leaf.getGradient().reshape(hidden.getShape())) {   // [B, T, hidden]
                body.backward(upstream);
            }
            return new Pass(loss, correct);
        }
    }

    /**
     * The output head when it has no bias and the hook leaves it alone (the usual case), else {@code null}. A half
     * head qualifies too: {@link Linear#baseOutput} gives its logits rounded as transformers' half head does and
     * {@link Linear#inputGradient} the hidden states' gradient rounded as autograd through it would, so that no
     * {@code [B·T, vocab]} array enters autograd (through autograd a bf16 head held the logits in bf16 and float32,
     * their log-softmax and two gradients, +195 MB at SmolLM2's shape and batch 2 × 128, and its bf16 backward
     * GEMM took half the step).
     */
    static Linear frozenHead(CausalLm model, LinearHook hook) {
        Linear head = model.linears().get(Adapters.OUTPUT_HEAD);
        boolean frozen = head != null && !head.hasBias() && (hook == null || !hook.adapts(Adapters.OUTPUT_HEAD));
        return frozen ? head : null;
    }

    /**
     * Backward through a frozen head: the loss and the hidden states' gradient from {@link #frozenHeadLoss}, then the
     * body (every logits array already freed).
     */
    private static Pass frozenHeadBackward(CausalLm model, Linear head, LayerSegments body, NDArray hidden,
                                             NDArray targets, NDArray weights, NDArray denominator, long chunkElements) {
        HeadPass pass;
        try (NDArray scaledWeights = weights.div(denominator)) {                                // [B, T]
            pass = frozenHeadLoss(model, head, hidden, targets, scaledWeights, chunkElements, true);
        }
        try (NDArray upstream = pass.hiddenGradient();                                          // [B·T, hidden]
             NDArray shaped = upstream.reshape(hidden.getShape())) {                            // [B, T, hidden]
            body.backward(shaped);
        }
        return new Pass(pass.loss(), pass.correct());
    }

    /**
     * What {@link #frozenHeadLoss} gives: the weighted loss, the correct positions and, when asked for, the gradient
     * of the hidden rows, float32 {@code [B·T, hidden]} (the caller closes it), else {@code null}.
     */
    private record HeadPass(double loss, long correct, NDArray hiddenGradient) {
    }

    /**
     * A frozen head without autograd, over passes of token rows: each pass's logits from one product, then each
     * chunk's weighted loss and its gradient computed in place ({@link FusedOps#crossEntropyGradInPlace}), then (in
     * training) one product for the pass's hidden-row gradient. A float32 head takes every row in one pass, its
     * weight read once each way (four passes cost +470 ms a step at SmolLM2's shape), holding one
     * {@code [B·T, vocab]} array; a half head takes passes of at most {@link #HALF_PASS_ELEMENTS} logits, since its
     * products upcast the weight a block at a time in every pass anyway (a pass more costs one more upcast, not a
     * slower product), so its logits never exist whole.
     *
     * @param weights  float32 {@code [B, T]}, each position's weight in the sum
     * @param gradient whether to compute the hidden rows' gradient
     */
    private static HeadPass frozenHeadLoss(CausalLm model, Linear head, NDArray hidden, NDArray targets,
                                           NDArray weights, long chunkElements, boolean gradient) {
        double loss = 0;
        long correct = 0;
        List<NDArray> gradients = new ArrayList<>();
        try (NDArray rowsOfHidden = hidden.stopGradient().reshape(-1, hidden.getShape().get(2)); // [B·T, hidden]
             NDArray flatTargets = targets.reshape(-1);                                     // [B·T]
             NDArray flatWeights = weights.reshape(-1)) {                                   // [B·T]
            long allRows = rowsOfHidden.getShape().get(0);
            long passElements = head.halfPrecision() ? Math.min(chunkElements, HALF_PASS_ELEMENTS)
                    : allRows * model.config().vocabSize();
            long chunkLimit = Math.min(chunkElements, IN_PLACE_CHUNK_ELEMENTS);
            for (long[] pass : chunks(model, allRows, passElements)) {
                try (NDArray passRows = rowsOfHidden.get(new NDIndex("{}:{}", pass[0], pass[1])); // [n, hidden]
                     NDArray logits = head.baseOutput(passRows)) {                          // [n, vocab]
                    for (long[] rows : chunks(model, pass[1] - pass[0], chunkLimit)) {
                        NDIndex local = new NDIndex("{}:{}", rows[0], rows[1]);
                        NDIndex global = new NDIndex("{}:{}", pass[0] + rows[0], pass[0] + rows[1]);
                        try (NDArray chunk = logits.get(local); NDArray t = flatTargets.get(global);
                             NDArray w = flatWeights.get(global)) {
                            correct += correct(chunk, t, w);                                // before the overwrite
                            try (NDArray part = FusedOps.crossEntropyGradInPlace(chunk, t, w)) { // rows → gradient
                                loss += part.getFloat();
                            }
                        }
                    }
                    if (gradient) {
                        gradients.add(head.inputGradient(logits));                          // [n, hidden]
                    }
                }
            }
        }
        return new HeadPass(loss, correct, gradient ? rowsInOrder(gradients) : null);
    }

    /** The passes' {@code [n, hidden]} gradients as one {@code [B·T, hidden]} array (the parts closed). */
    private static NDArray rowsInOrder(List<NDArray> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        try (NDList list = new NDList(parts)) {
            return NDArrays.concat(list, 0);
        }
    }

    /** {@code Σ NLL} and the correct positions without gradients (evaluation). Shapes as in {@link #forwardBackward}. */
    static Pass summed(CausalLm model, LinearHook hook, NDArray ids, NDArray targets, NDArray weights) {
        NDArray hidden = model.hiddenStates(ids, hook);                                 // [B, T, hidden]
        Linear head = frozenHead(model, hook);
        if (head != null) {
            HeadPass pass = frozenHeadLoss(model, head, hidden, targets, weights, CHUNK_ELEMENTS, false);
            return new Pass(pass.loss(), pass.correct());
        }
        NDArray rowsOfHidden = hidden.reshape(-1, hidden.getShape().get(2));            // [B·T, hidden]
        double sum = 0;
        long correct = 0;
        for (long[] rows : chunks(model, rowsOfHidden.getShape().get(0), CHUNK_ELEMENTS)) {
            try (NDScope ignored = new NDScope()) {
                ChunkNll nll = chunkNll(model, hook, rowsOfHidden, targets, weights, rows);
                sum += nll.sum().getFloat();
                correct += nll.correct();
            }
        }
        return new Pass(sum, correct);
    }

    /** @param sum float32 scalar {@code Σ NLL} of a chunk's rows (in the autograd graph when grad mode is on) */
    private record ChunkNll(NDArray sum, long correct) {
    }

    /** {@code Σ NLL} of token rows {@code [rows[0], rows[1])} and how many of them the argmax predicts. */
    private static ChunkNll chunkNll(CausalLm model, LinearHook hook, NDArray hiddenRows, NDArray targets,
                                     NDArray weights, long[] rows) {
        NDIndex range = new NDIndex("{}:{}", rows[0], rows[1]);
        NDArray logits = model.outputHead(hiddenRows.get(range), hook);                // [n, vocab]
        NDArray t = targets.reshape(-1).get(range);                                     // [n]
        NDArray w = weights.reshape(-1).get(range);                                     // [n]
        return new ChunkNll(CausalLmLoss.summedNll(logits, t, w), correct(logits, t, w));
    }

    /**
     * Positions with a positive weight whose most likely token is the target.
     *
     * @param logits  {@code [n, vocab]}
     * @param targets int64 {@code [n]}
     * @param weights float32 {@code [n]}
     */
    private static long correct(NDArray logits, NDArray targets, NDArray weights) {
        // no grad: the comparison's scalar operand must not enter an autograd graph (djl pitfall 1)
        try (NoGrad noGrad = NoGrad.enter(); NDScope ignored = new NDScope()) {
            NDArray hit = logits.stopGradient().argMax(1).eq(targets).logicalAnd(weights.gt(0)); // [n] boolean
            return hit.toType(ai.djl.ndarray.types.DataType.INT64, false).sum().getLong();
        }
    }

    /**
     * Row ranges {@code [from, to)} covering {@code rows} rows in equal chunks (the last may be shorter), each chunk's
     * logits at most {@code chunkElements}.
     */
    private static List<long[]> chunks(CausalLm model, long rows, long chunkElements) {
        long maxPerChunk = Math.max(1, chunkElements / model.config().vocabSize());
        long count = (rows + maxPerChunk - 1) / maxPerChunk;
        long perChunk = (rows + count - 1) / count; // 1,024 rows at most 341 a chunk: 4 × 256, not 3 × 341 + 1
        List<long[]> ranges = new ArrayList<>();
        for (long from = 0; from < rows; from += perChunk) {
            ranges.add(new long[] {from, Math.min(rows, from + perChunk)});
        }
        return ranges;
    }
}
