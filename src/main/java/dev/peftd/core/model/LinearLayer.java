package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.HalfType;

/**
 * A frozen base-model linear layer, {@code y = x·Wᵀ + b}, that hands its output to the forward call's
 * {@link LinearHook} under its Hugging Face module name. Every linear layer of every family runs through here, so
 * adapters see all of them the same way. The weight is float32, or a {@link HalfTensor} in a half model, where the
 * layer computes as transformers' half {@code nn.Linear} ({@link HalfOps#linear}) with float32 in and out.
 */
public final class LinearLayer implements Linear {

    /**
     * A float32 product over at most this many input rows whose weight has more than {@link #WIDE_OUT} output rows
     * runs in slices of {@link #SLICE_OUT} output rows. Why: libtorch's MKL sgemm is slow on a wide weight (an output
     * head, 32,000 × 768) times a few rows; measured on this project's 2-core AMD machine, one thread, 16 rows:
     * 23.8 ms whole, 18.5 ms in 1,024-row slices (4 rows: 18.5 → 12.9 ms; 64 rows: 55.8 → 45.9 ms; 256 rows: no
     * difference; one row (a matrix-vector product): slower sliced, so never). Each output element is the same dot
     * product either way, up to float32 rounding (MKL's kernel depends on the width). This is a batched decode step's
     * output head.
     */
    static final long FEW_ROWS = 128;
    static final long WIDE_OUT = 8192;
    static final long SLICE_OUT = 1024;

    private final String name;
    private final NDArray weight;
    private final NDArray bias;
    private final HalfTensor halfWeight;
    private final HalfTensor halfBias;

    /**
     * @param weight float32 {@code [out, in]}
     * @param bias   float32 {@code [out]} or {@code null}
     */
    public LinearLayer(String name, NDArray weight, NDArray bias) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
        this.halfWeight = null;
        this.halfBias = null;
    }

    /**
     * @param weight half {@code [out, in]}
     * @param bias   half {@code [out]} or {@code null}
     */
    public LinearLayer(String name, HalfTensor weight, HalfTensor bias) {
        this.name = name;
        this.weight = null;
        this.bias = null;
        this.halfWeight = weight;
        this.halfBias = bias;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public NDArray weight() {
        requireFloat32();
        return weight;
    }

    @Override
    public NDArray bias() {
        requireFloat32();
        return bias;
    }

    private void requireFloat32() {
        if (halfWeight != null) {
            throw new UnsupportedOperationException(name + " is held in " + halfWeight.type().name().toLowerCase()
                    + "; this operation needs a float32 base (load the model with dtype float32)");
        }
    }

    @Override
    public Shape weightShape() {
        return halfWeight != null ? halfWeight.shape() : weight.getShape();
    }

    @Override
    public Device device() {
        return halfWeight != null ? halfWeight.device() : weight.getDevice();
    }

    @Override
    public HalfType halfType() {
        return halfWeight != null ? halfWeight.type() : null;
    }

    @Override
    public double weightFrobeniusNorm() {
        if (halfWeight == null) {
            return Linear.frobeniusNorm(weight);
        }
        try (NDArray widened = HalfOps.widen(halfWeight)) { // one layer's float32 copy, for the moment of the sum
            return Linear.frobeniusNorm(widened);
        }
    }

    /** The half weight and bias, as {@link HalfOps}' fused block methods take them, or {@code null} in float32. */
    public HalfOps.Linear half() {
        return halfWeight == null ? null : new HalfOps.Linear(halfWeight, halfBias);
    }

    @Override
    public boolean hasBias() {
        return halfWeight != null ? halfBias != null : bias != null;
    }

    /**
     * @param x    {@code [..., in]}
     * @param hook may replace the output (adapter delta), or {@code null}
     * @return {@code [..., out]}
     */
    public NDArray forward(NDArray x, LinearHook hook) {
        return hook == null ? baseOutput(x) : hook.output(this, x);
    }

    /** Whether a float32 product over {@code rows} input rows with {@code out} output rows runs in slices. */
    static boolean sliced(long rows, long out) {
        return rows >= 2 && rows <= FEW_ROWS && out > WIDE_OUT;
    }

    /** @param x float32 {@code [..., in]} → {@code x·Wᵀ + b}, float32 {@code [..., out]}, without any adapter */
    @Override
    public NDArray baseOutput(NDArray x) {
        if (halfWeight != null) {
            return HalfOps.linear(x, halfWeight, halfBias);
        }
        long out = weight.getShape().get(0);
        long rows = x.getShape().size() / x.getShape().tail();
        if (!sliced(rows, out)) {
            return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
        }
        NDList slices = new NDList();
        for (long from = 0; from < out; from += SLICE_OUT) {
            NDIndex range = new NDIndex("{}:{}", from, Math.min(out, from + SLICE_OUT));
            slices.add(x.getNDArrayInternal().linear(x, weight.get(range), bias == null ? null : bias.get(range))
                    .singletonOrThrow()); // [..., slice]
        }
        return NDArrays.concat(slices, x.getShape().dimension() - 1); // [..., out]; concat rejects axis -1
    }

    /** On a half weight: the half linear's backward ({@link HalfOps#linearInputGradient}), rounded as autograd's. */
    @Override
    public NDArray inputGradient(NDArray outputGradient) {
        if (halfWeight != null) {
            return HalfOps.linearInputGradient(outputGradient, halfWeight);
        }
        return outputGradient.matMul(weight);
    }
}
