package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;

/**
 * A forward pass whose autograd graph is cut between decoder layers, and the backward that walks it back layer by
 * layer: each layer reads a detached copy of its input that requires gradients, so backward through one layer stops
 * at that copy, whose gradient then seeds the layer below. The gradients are those of one backward through the
 * whole graph (the same operations run, in separate calls, plus layer 0's unused input gradient); memory is the
 * same, since every layer's graph is kept until its turn.
 *
 * <p>Why: between two layers' backward passes a {@link LayerSegmentListener} hook can finish gradients that autograd
 * cannot compute cheaply (VeRA's merged-weight training), while the memory it needs for that is one layer's worth.
 *
 * <p>Owns the layers' boundary arrays until {@link #close()}. One thread, one pass.
 */
public final class LayerSegments implements LayerBoundary, AutoCloseable {

    /** One layer's graph: the detached copy of its input that it reads, and its output. */
    private static final class Segment {
        private NDArray input;
        private NDArray output;

        private Segment(NDArray input) {
            this.input = input;
        }
    }

    private final LayerSegmentListener listener;
    private final List<Segment> segments = new ArrayList<>();
    private NDArray hidden;

    /** @param hook the forward call's hook; told about layer boundaries when it is a {@link LayerSegmentListener} */
    LayerSegments(LinearHook hook) {
        this.listener = hook instanceof LayerSegmentListener l ? l : null;
    }

    @Override
    public NDArray enter(NDArray h) {
        if (!segments.isEmpty()) {
            segments.get(segments.size() - 1).output = keep(h);
        }
        // Every layer reads a leaf that requires gradients, even layer 0 (whose input, the frozen embeddings, needs
        // none), so that every layer's output is in a graph and backward can start from it without asking
        // libtorch's requires_grad, which DJL 0.36 reports wrongly for op results.
        NDArray input = keep(h.stopGradient()); // shares h's storage: no copy
        input.setRequiresGradient(true);
        segments.add(new Segment(input));
        if (listener != null) {
            listener.layerForwardStarts();
        }
        return input;
    }

    /** Records the body's final output (after the last layer and the final norm), {@code [B, T, hidden]}. */
    void finish(NDArray finalHidden) {
        hidden = finalHidden;
        if (!segments.isEmpty()) {
            segments.get(segments.size() - 1).output = finalHidden;
        }
    }

    /** The body's output, {@code [B, T, hidden]} (owned by the caller's scope). */
    public NDArray hidden() {
        return hidden;
    }

    /**
     * Backpropagates {@code gradient} from the body's output down to the first layer, accumulating into every
     * adapter tensor on the way; must run with grad mode on.
     *
     * @param gradient d(loss)/d({@link #hidden()}), {@code [B, T, hidden]}
     */
    public void backward(NDArray gradient) {
        NDArray upstream = gradient;
        for (int i = segments.size() - 1; i >= 0; i--) {
            Segment s = segments.get(i);
            JniUtils.backward((PtNDArray) s.output, (PtNDArray) upstream, false, false);
            if (listener != null) {
                listener.layerBackwardDone();
            }
            NDArray below = i > 0 ? s.input.getGradient() : null; // [B, T, hidden]; the embeddings learn nothing
            s.input.close(); // only this layer's (finished) graph read it; frees its .grad together with `below`
            s.input = null;
            if (upstream != gradient) {
                upstream.close();
            }
            upstream = below;
        }
    }

    private static NDArray keep(NDArray array) {
        NDScope.unregister(array); // freed by close(), not by the forward call's scope
        return array;
    }

    @Override
    public void close() {
        for (Segment s : segments) {
            if (s.input != null) {
                s.input.close();
            }
            if (s.output != null && s.output != hidden) {
                s.output.close();
            }
        }
        segments.clear();
        if (listener != null) {
            listener.segmentsClosed();
        }
    }
}
