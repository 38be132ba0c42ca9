package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.TorchScriptModule;

/**
 * libtorch kernels that DJL's NDArray API lacks, called through a parameterless TorchScript module
 * ({@code fused-ops.pt}, written by {@code tools/reference/make_fused_ops.py}; djl-notes.md section 2).
 *
 * <p>Why: the composed attention keeps the {@code [B, H, T, T]} softmax for backward and is 1.4–2.5× slower than
 * libtorch's flash kernel; the composed SiLU saves {@code sigmoid(x)} as well as {@code x}. Autograd flows through
 * the module's methods when the calling thread's grad mode is on, so training and inference share them.
 *
 * <p>Thread-safe: the module has no state, and grad mode is per thread.
 */
public final class FusedOps {

    private static final String RESOURCE = "fused-ops.pt";

    private FusedOps() {
    }

    /** Loaded on first use; lives for the JVM's lifetime. */
    private static final class Module {
        private static final TorchScriptModule OPS = new TorchScriptModule(FusedOps.class, RESOURCE);
    }

    /**
     * Causal scaled dot-product attention with scale {@code 1/sqrt(headDim)}, queries and keys both starting at
     * position 0 (query t sees keys 0 … t).
     *
     * @param q {@code [B, H, T, headDim]}
     * @param k {@code [B, H, T, headDim]} (grouped KV heads already repeated)
     * @param v {@code [B, H, T, headDim]}
     * @return {@code [B, H, T, headDim]}
     */
    public static NDArray causalAttention(NDArray q, NDArray k, NDArray v) {
        return Module.OPS.call("causal_attention", q, k, v);
    }

    /** @param x any shape → same shape, {@code x·sigmoid(x)} */
    public static NDArray silu(NDArray x) {
        return Module.OPS.call("silu", x);
    }

    /**
     * Weighted next-token cross-entropy of some rows and, in place, its gradient: afterwards {@code logits} holds
     * {@code weights · (softmax(logits) − onehot(targets))}. No autograd: the caller backpropagates that gradient.
     *
     * @param logits  float32 {@code [n, V]}, overwritten (a view into a larger array is fine)
     * @param targets int64 {@code [n]}
     * @param weights float32 {@code [n]}, each row's loss weight (already divided by any denominator)
     * @return float32 scalar {@code Σ weights · −log softmax(logits)[targets]}
     */
    public static NDArray crossEntropyGradInPlace(NDArray logits, NDArray targets, NDArray weights) {
        return Module.OPS.call("cross_entropy_grad_", false, logits, targets, weights);
    }
}
