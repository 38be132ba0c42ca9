package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
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
 * head (the usual case) needs no autograd: one matmul gives all logits, each chunk's loss and logit gradient are
 * computed in place, and one matmul gives the hidden states' gradient (one logits array held; the head's weight read
 * once each way). An adapted head backpropagates each chunk at once through autograd instead. Either way the body
 * is then backpropagated from the hidden states' gradient, layer by layer ({@link LayerSegments}); the gradients
 * equal one backward through the whole graph, only summation orders differ.
 */
final class ChunkedLoss {

    /** Logit elements per chunk of the loss: 2²⁴ float32 values, 64 MiB. */
    private static final long CHUNK_ELEMENTS = 1L << 24;

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
     * The output head when it has no bias and the hook leaves it alone (the usual case), else {@code null}. A head
     * held in a half type also takes the autograd path: its logits are the half head's (rounded, as transformers'),
     * and the float32 weight the single-matmul path multiplies by does not exist.
     */
    private static Linear frozenHead(CausalLm model, LinearHook hook) {
        Linear head = model.linears().get(Adapters.OUTPUT_HEAD);
        boolean frozen = head != null && !head.halfPrecision() && !head.hasBias()
                && (hook == null || !hook.adapts(Adapters.OUTPUT_HEAD));
        return frozen ? head : null;
    }

    /**
     * Backward through a frozen head: the loss and the logits' gradient from {@link #frozenHeadLoss}, then one matmul
     * for the hidden states' gradient, then the body.
     */
    private static Pass frozenHeadBackward(CausalLm model, Linear head, LayerSegments body, NDArray hidden,
                                             NDArray targets, NDArray weights, NDArray denominator, long chunkElements) {
        try (NDArray scaledWeights = weights.div(denominator);                                  // [B, T]
             HeadPass pass = frozenHeadLoss(model, head, hidden, targets, scaledWeights, chunkElements);
             NDArray upstream = pass.logitGradient().matMul(head.weight());                     // [B·T, hidden]
             NDArray shaped = upstream.reshape(hidden.getShape())) {                            // [B, T, hidden]
            body.backward(shaped);
            return new Pass(pass.loss(), pass.correct());
        }
    }

    /** What {@link #frozenHeadLoss} leaves: the weighted loss, the correct positions and, in the logits' place, its gradient. */
    private record HeadPass(double loss, long correct, NDArray logitGradient) implements AutoCloseable {
        @Override
        public void close() {
            logitGradient.close();
        }
    }

    /**
     * A frozen head without autograd: one matmul for all logits (the head's weight read once, not once per chunk),
     * then each chunk's weighted loss and its gradient computed in place ({@link FusedOps#crossEntropyGradInPlace}),
     * so the step holds one {@code [B·T, vocab]} array plus one chunk's temporaries.
     *
     * @param weights float32 {@code [B, T]}, each position's weight in the sum
     */
    private static HeadPass frozenHeadLoss(CausalLm model, Linear head, NDArray hidden, NDArray targets,
                                           NDArray weights, long chunkElements) {
        double loss = 0;
        long correct = 0;
        NDArray logits;
        try (NDArray rowsOfHidden = hidden.stopGradient().reshape(-1, hidden.getShape().get(2)); // [B·T, hidden]
             NDArray flatTargets = targets.reshape(-1);                                     // [B·T]
             NDArray flatWeights = weights.reshape(-1)) {                                   // [B·T]
            logits = rowsOfHidden.getNDArrayInternal().linear(rowsOfHidden, head.weight(), null)
                    .singletonOrThrow();                                                    // [B·T, vocab]
            for (long[] rows : chunks(model, logits.getShape().get(0), chunkElements)) {
                NDIndex range = new NDIndex("{}:{}", rows[0], rows[1]);
                try (NDArray chunk = logits.get(range); NDArray t = flatTargets.get(range);
                     NDArray w = flatWeights.get(range)) {
                    correct += correct(chunk, t, w);                                        // before the overwrite
                    try (NDArray part = FusedOps.crossEntropyGradInPlace(chunk, t, w)) {    // logits rows → gradient
                        loss += part.getFloat();
                    }
                }
            }
        }
        return new HeadPass(loss, correct, logits);
    }

    /** {@code Σ NLL} and the correct positions without gradients (evaluation). Shapes as in {@link #forwardBackward}. */
    static Pass summed(CausalLm model, LinearHook hook, NDArray ids, NDArray targets, NDArray weights) {
        NDArray hidden = model.hiddenStates(ids, hook);                                 // [B, T, hidden]
        Linear head = frozenHead(model, hook);
        if (head != null) {
            try (HeadPass pass = frozenHeadLoss(model, head, hidden, targets, weights, CHUNK_ELEMENTS)) {
                return new Pass(pass.loss(), pass.correct());
            }
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
