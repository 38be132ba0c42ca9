package dev.peftd.core.model;

/**
 * A {@link LinearHook} that takes part in a segmented backward ({@link LayerSegments}): it learns where decoder
 * layers start in the forward pass and when each layer's gradients are complete, so it can finish gradients that
 * autograd does not compute for it (VeRA's merged-weight training).
 *
 * <p>Calls come from the thread that runs the forward and backward.
 */
public interface LayerSegmentListener {

    /** A decoder layer's forward pass starts (layers in order, 0 first). */
    void layerForwardStarts();

    /** Backward has finished the latest layer not yet reported (layers in reverse order, the last first). */
    void layerBackwardDone();

    /** The segmented pass is over (also after a failure): drop whatever is still kept for it. */
    void segmentsClosed();
}
