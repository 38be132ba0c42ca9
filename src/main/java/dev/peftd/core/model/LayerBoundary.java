package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;

/** What a decoder does with the hidden states between two layers: nothing, or cut the graph ({@link LayerSegments}). */
@FunctionalInterface
public interface LayerBoundary {

    /** Passes the hidden states through unchanged. */
    LayerBoundary NONE = h -> h;

    /**
     * Called before each decoder layer.
     *
     * @param h the previous layer's output (the embeddings before layer 0), {@code [B, T, hidden]}
     * @return what the layer reads: {@code h} itself or a stand-in for it
     */
    NDArray enter(NDArray h);
}
