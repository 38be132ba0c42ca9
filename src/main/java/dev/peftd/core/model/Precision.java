package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfType;

/**
 * Where a forward pass rounds. Activations are float32 arrays either way; in a half model they hold half values,
 * rounded by {@link HalfOps} exactly where transformers' half model computes in the half dtype (residual adds,
 * rotary embedding, the SwiGLU product, attention, and inside norms and linears), so the float32 values equal the
 * half values transformers holds at the same points up to GEMM summation order.
 */
public final class Precision {

    /** Float32 throughout: every op as written, no rounding. */
    public static final Precision FLOAT32 = new Precision(null);

    private final HalfType half;

    private Precision(HalfType half) {
        this.half = half;
    }

    static Precision of(HalfType half) {
        return half == null ? FLOAT32 : new Precision(half);
    }

    /** The half type activations are rounded to, or {@code null} in float32. */
    public HalfType half() {
        return half;
    }

    /** A residual add. */
    public NDArray add(NDArray a, NDArray b) {
        return half == null ? a.add(b) : HalfOps.add(a, b, half);
    }

    /** {@code silu(gate)·up}. */
    public NDArray siluMul(NDArray gate, NDArray up) {
        return half == null ? FusedOps.silu(gate).mul(up) : HalfOps.siluMul(gate, up, half);
    }

    /** Rotary embedding of q or k {@code [B, heads, T, headDim]}. */
    public NDArray rope(NDArray x, RotaryEmbedding.Tables tables) {
        return half == null ? RotaryEmbedding.apply(x, tables) : HalfOps.rope(x, tables.cos(), tables.sin(), half);
    }

    /** Rounds a float32 result computed from half values, as the half op would have. */
    public NDArray round(NDArray x) {
        return half == null ? x : HalfOps.round(x, half);
    }
}
