package dev.peftd.core.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

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

    /** Loaded on first use; the module and its method-name markers live for the JVM's lifetime. */
    private static final class Module {
        private static final NDManager MANAGER = NDManager.newBaseManager("PyTorch");
        private static final PtSymbolBlock OPS = load();
        private static final NDArray CAUSAL_ATTENTION = methodMarker("causal_attention");
        private static final NDArray SILU = methodMarker("silu");
        private static final NDArray CROSS_ENTROPY_GRAD = methodMarker("cross_entropy_grad_");

        private static PtSymbolBlock load() {
            Engine.getEngine("PyTorch");
            try (InputStream in = FusedOps.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException(RESOURCE + " is missing from the classpath");
                }
                return JniUtils.loadModule((PtNDManager) MANAGER, in, false, false);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load " + RESOURCE, e);
            }
        }

        /** DJL picks a TorchScript method by an input array named {@code module_method:NAME}; its data is unused. */
        private static NDArray methodMarker(String method) {
            NDArray marker = MANAGER.create(0f);
            NDScope.unregister(marker);
            marker.setName("module_method:" + method);
            return marker;
        }
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
        return call(new NDList(q, k, v, Module.CAUSAL_ATTENTION));
    }

    /** @param x any shape → same shape, {@code x·sigmoid(x)} */
    public static NDArray silu(NDArray x) {
        return call(new NDList(x, Module.SILU));
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
        return IValueUtils.forward(Module.OPS, new NDList(logits, targets, weights, Module.CROSS_ENTROPY_GRAD), false)
                .singletonOrThrow();
    }

    private static NDArray call(NDList inputs) {
        // the native call runs under the grad mode it is given, so pass the thread's own
        return IValueUtils.forward(Module.OPS, inputs, JniUtils.isGradMode()).singletonOrThrow();
    }
}
