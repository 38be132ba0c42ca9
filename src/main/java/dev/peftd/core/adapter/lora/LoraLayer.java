package dev.peftd.core.adapter.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.norm.Dropout;
import dev.peftd.core.adapter.AdaptedLayer;
import dev.peftd.core.adapter.LowRank;

/**
 * One LoRA-wrapped linear layer: {@code y = base(x) + s·B·A·dropout(x)}, PEFT's {@code lora.Linear.forward}.
 * Shared by LoRA, LoRA-FA (A frozen), LoRA+ and Delta-LoRA (no dropout).
 */
public final class LoraLayer implements AdaptedLayer {

    private final String module;
    private final NDArray a;       // [r, in]
    private final NDArray b;       // [out, r]
    private final double scaling;
    private final NDArray scale;   // [] float32, = scaling
    private final float dropout;

    /**
     * @param a       lora_A {@code [r, in]}, owned by the adapter
     * @param b       lora_B {@code [out, r]}, owned by the adapter
     * @param scale   the scaling as a cached scalar array (never a Java number in the graph)
     */
    public LoraLayer(String module, NDArray a, NDArray b, double scaling, NDArray scale, double dropout) {
        this.module = module;
        this.a = a;
        this.b = b;
        this.scaling = scaling;
        this.scale = scale;
        this.dropout = (float) dropout;
    }

    @Override
    public String module() {
        return module;
    }

    /** lora_A, {@code [r, in]}. */
    public NDArray a() {
        return a;
    }

    /** lora_B, {@code [out, r]}. */
    public NDArray b() {
        return b;
    }

    public double scaling() {
        return scaling;
    }

    public NDArray scale() {
        return scale;
    }

    public int rank() {
        return (int) a.getShape().get(0);
    }

    @Override
    public NDArray deltaOutput(NDArray input, boolean training) {
        NDArray x = dropout > 0 && training ? Dropout.dropout(input, dropout, true).singletonOrThrow() : input;
        NDArray down = ai.djl.nn.core.Linear.linear(x, a).singletonOrThrow();     // [..., r]
        NDArray up = ai.djl.nn.core.Linear.linear(down, b).singletonOrThrow();    // [..., out]
        return up.mul(scale);
    }

    @Override
    public LowRank delta() {
        return new LowRank(b.mul(scale), a.duplicate()); // [out, r]·[r, in]
    }
}
