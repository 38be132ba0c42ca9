package dev.peftd.core.adapter.vera;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.LinearLayer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * One segmented training pass of VeRA through merged weights: each adapted layer computes
 * {@code x·(W + diag(b)·B_s·diag(d)·A_s)ᵀ} in one matmul, and b and d get their gradients between layers' backward
 * passes from {@code S = Gᵀ·P} ({@link VeraLayer#accumulateGradients}).
 *
 * <p>Why: the factored branch {@code b ⊙ ((d ⊙ x·A_sᵀ)·B_sᵀ)} costs, per token, {@code r·out} in the forward, and
 * {@code r·out} plus the shared {@code r·in} in the backward (the input gradient through A_s). Here the forward pays
 * {@code out·r·in} once per step to form ΔW, the input gradient comes with the base weight's for free, and the
 * backward pays {@code r·out} per token for S plus the shared {@code r·in} for P: at SmolLM2-135M's widths, r = 256
 * and 1,024 tokens a step, about 3.1 instead of 4.4 GMAC per decoder layer.
 *
 * <p>G, the gradient of each adapted output, is caught by adding a zero leaf ("carrier") to the output: its
 * gradient is G. The carriers of a pass share one zero buffer; their gradients exist one layer at a time.
 *
 * <p>Used by one thread: the adapter keeps one pass per thread, from the first {@code layerForwardStarts} to
 * {@code segmentsClosed}.
 */
final class MergedTrainingPass implements AutoCloseable {

    /** An adapted output awaiting its gradient: the layer, its carrier leaf, and its input's projection P. */
    private record Pending(VeraLayer layer, NDArray carrier, NDArray projected) {
    }

    /** What one decoder layer's forward left for its backward. */
    private static final class LayerRecord {
        private final List<Pending> pending = new ArrayList<>();
        private final List<NDArray[]> projections = new ArrayList<>(); // {input, A_s, P}, P = input·A_sᵀ
    }

    private final NDManager manager;
    private final Deque<LayerRecord> layers = new ArrayDeque<>();
    private NDArray zeros; // [capacity], never written: the storage every carrier views

    /** @param manager on the adapter's device; holds the zero buffer until {@link #close()} */
    MergedTrainingPass(NDManager manager) {
        this.manager = manager;
    }

    void layerForwardStarts() {
        layers.push(new LayerRecord());
    }

    /**
     * @param x {@code [..., in]}
     * @return {@code x·(W + ΔW)ᵀ + bias}, {@code [..., out]}, in the graph of x and of the carrier
     */
    NDArray output(LinearLayer base, VeraLayer layer, NDArray x) {
        LayerRecord record = current();
        NDArray projected = projection(record, x, layer.sliceA());                  // [..., r], no graph
        NDArray y;
        try (NDArray merged = layer.mergedWeight(base.weight())) {                  // [out, in], no graph
            y = x.getNDArrayInternal().linear(x, merged, base.bias()).singletonOrThrow(); // [..., out]
        }
        NDArray carrier = carrier(y.getShape());                                    // [..., out], zeros, a leaf
        record.pending.add(new Pending(layer, carrier, projected));
        return y.add(carrier);
    }

    /** Gives b and d of every output of the latest layer not yet done their gradients, then frees that layer's arrays. */
    void layerBackwardDone() {
        LayerRecord record = layers.pop();
        for (Pending p : record.pending) {
            try (NDArray g = p.carrier().getGradient()) {                           // [..., out]
                p.layer().accumulateGradients(g, p.projected());
            }
            p.carrier().close();
        }
        release(record);
    }

    private LayerRecord current() {
        LayerRecord record = layers.peek();
        if (record == null) {
            throw new IllegalStateException("VeRA merged training: an adapted layer ran before layerForwardStarts");
        }
        return record;
    }

    /** {@code x·A_sᵀ} outside any graph, once per input and width in this layer (q/k/v share one, gate/up another). */
    private static NDArray projection(LayerRecord record, NDArray x, NDArray sliceA) {
        for (NDArray[] known : record.projections) {
            if (known[0] == x && known[1] == sliceA) {
                return known[2];
            }
        }
        NDArray projected;
        try (NDArray detached = x.stopGradient()) {
            projected = detached.getNDArrayInternal().linear(detached, sliceA, null).singletonOrThrow(); // [..., r]
        }
        NDScope.unregister(projected); // lives until this layer's backward
        record.projections.add(new NDArray[] {x, sliceA, projected});
        return projected;
    }

    /** A zero leaf of {@code shape} that requires gradients, viewing the shared zero buffer. */
    private NDArray carrier(Shape shape) {
        long size = shape.size();
        if (zeros == null || zeros.size() < size) {
            if (zeros != null) {
                zeros.close(); // carriers made so far are views: they keep the old storage alive
            }
            zeros = manager.zeros(new Shape(size));
            NDScope.unregister(zeros);
        }
        NDArray carrier;
        try (NDArray view = zeros.get(new NDIndex(":{}", size)); NDArray shaped = view.reshape(shape)) {
            carrier = shaped.stopGradient();
        }
        carrier.setRequiresGradient(true);
        NDScope.unregister(carrier); // read after this layer's backward
        return carrier;
    }

    private static void release(LayerRecord record) {
        for (NDArray[] known : record.projections) {
            known[2].close();
        }
    }

    @Override
    public void close() {
        while (!layers.isEmpty()) {
            LayerRecord record = layers.pop();
            record.pending.forEach(p -> p.carrier().close());
            release(record);
        }
        if (zeros != null) {
            zeros.close();
            zeros = null;
        }
    }
}
