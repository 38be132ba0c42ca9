package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;

/**
 * A frozen base-model linear layer, {@code y = x·Wᵀ + b}, that hands its output to the forward call's
 * {@link LinearHook} under its Hugging Face module name. Every linear layer of every family runs through here, so
 * adapters see all of them the same way.
 */
public final class LinearLayer implements Linear {

    private final String name;
    private final NDArray weight;
    private final NDArray bias;

    /**
     * @param weight float32 {@code [out, in]}
     * @param bias   float32 {@code [out]} or {@code null}
     */
    public LinearLayer(String name, NDArray weight, NDArray bias) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public NDArray weight() {
        return weight;
    }

    @Override
    public NDArray bias() {
        return bias;
    }

    /**
     * @param x    {@code [..., in]}
     * @param hook may replace the output (adapter delta), or {@code null}
     * @return {@code [..., out]}
     */
    public NDArray forward(NDArray x, LinearHook hook) {
        return hook == null ? baseOutput(x) : hook.output(this, x);
    }

    /** @param x {@code [..., in]} → {@code x·Wᵀ + b}, {@code [..., out]}, without any adapter */
    public NDArray baseOutput(NDArray x) {
        return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
    }
}
