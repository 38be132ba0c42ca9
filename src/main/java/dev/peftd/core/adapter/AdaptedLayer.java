package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;

/** One adapted linear layer: the parametrization of its ΔW. */
public interface AdaptedLayer {

    /** HF module name, e.g. {@code model.layers.0.self_attn.q_proj}. */
    String module();

    /**
     * What the adapter adds to the layer's output.
     *
     * @param input    the layer input {@code [..., in]}
     * @param training whether dropout is on
     * @return {@code [..., out]}, part of the autograd graph of the trainable tensors
     */
    NDArray deltaOutput(NDArray input, boolean training);

    /** The layer's ΔW (deployed, relative to the original base weight) in factored form; fresh arrays. */
    LowRank delta();
}
