package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;

/** The SwiGLU feed-forward of Llama-style models: {@code down(silu(gate(x)) · up(x))}. */
public final class GatedMlp {

    private final LinearLayer gate;
    private final LinearLayer up;
    private final LinearLayer down;

    private final Precision precision;

    public GatedMlp(LinearLayer gate, LinearLayer up, LinearLayer down, Precision precision) {
        this.precision = precision;
        this.gate = gate;
        this.up = up;
        this.down = down;
    }

    public LinearLayer gate() {
        return gate;
    }

    public LinearLayer up() {
        return up;
    }

    public LinearLayer down() {
        return down;
    }

    /** @param x {@code [B, T, hidden]} → {@code [B, T, hidden]} */
    public NDArray forward(NDArray x, LinearHook hook) {
        NDArray g = gate.forward(x, hook); // [B, T, intermediate]
        return down.forward(precision.siluMul(g, up.forward(x, hook)), hook); // DJL has no silu: fused-ops.pt's
    }
}
