package dev.peftd.core.tensor;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A quick check that a device computes what peftd asks of it in one dtype: a linear through the half fence with
 * several rows (the half GEMM or the upcast one, as {@link HalfGemm} picks for the device), one row (the half GEMV a
 * decode step runs) and a gradient through it (the path LoRA training takes), an RMSNorm and a causal attention, each
 * against the same op in float32 on the same device's widened values; then the throughput of the linear as peftd runs it in that dtype. What {@code peftd doctor} runs.
 *
 * <p>Tolerances: the largest error relative to the largest reference value, at most 4 units of the dtype's rounding
 * (2⁻⁸ for bfloat16, 2⁻¹¹ for float16, 2⁻²² for float32): the half ops round once or twice more than the float32
 * reference, and a wrong kernel, a garbage read or a NaN is off by far more.
 */
public final class DeviceSelfCheck {

    /** One op compared with its float32 reference. */
    public record OpCheck(String op, double relativeError, double tolerance) {
        public boolean passed() {
            return relativeError <= tolerance; // false for NaN too
        }
    }

    /**
     * @param dtype  {@code float32}, {@code bfloat16} or {@code float16}
     * @param gemm   GFLOP/s of {@code [128, 1024]·[1024, 1024]ᵀ}, as peftd's linear runs it in this dtype
     * @param gemv   GFLOP/s of {@code [1, 1024]·[1024, 1024]ᵀ} (a decode step's linear)
     * @param error  why the check could not run on this device, or {@code null}
     */
    public record Result(String device, String dtype, List<OpCheck> ops, double gemm, double gemv, String error) {
        public boolean passed() {
            return error == null && !ops.isEmpty() && ops.stream().allMatch(OpCheck::passed);
        }
    }

    private static final int ROWS = 4;
    private static final int IN = 64;
    private static final int OUT = 96;
    private static final int HEADS = 2;
    private static final int SEQ = 8;
    private static final int HEAD_DIM = 16;
    private static final int BENCH_WIDTH = 1024;
    private static final int BENCH_ROWS = 128;

    private DeviceSelfCheck() {
    }

    /** The CPU and every GPU libtorch sees (none on a CPU-only build or without CUDA libraries). */
    public static List<Device> devices() {
        List<Device> devices = new ArrayList<>(List.of(Device.cpu()));
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        for (int i = 0; i < gpus; i++) {
            devices.add(Device.gpu(i));
        }
        return devices;
    }

    /**
     * @param half the half type to check, or {@code null} for float32
     * @return never throws for a device that fails: the failure is the result's {@code error}
     */
    public static Result check(Device device, HalfType half, double benchSeconds) {
        String dtype = half == null ? "float32" : half.name().toLowerCase(java.util.Locale.ROOT);
        boolean before = JniUtils.isGradMode();
        try (NDManager m = NDManager.newBaseManager(device)) {
            List<OpCheck> ops = new ArrayList<>();
            Random random = new Random(7);
            double unit = half == null ? Math.scalb(1.0, -22) : half == HalfType.BFLOAT16 ? Math.scalb(1.0, -8)
                    : Math.scalb(1.0, -11);
            double tol = 4 * unit;
            JniUtils.setGradMode(false);
            NDArray x = rounded(m.create(gaussian(random, ROWS * IN, 1.0), new Shape(ROWS, IN)), half); // [4, 64]
            NDArray w = m.create(gaussian(random, OUT * IN, 0.1), new Shape(OUT, IN));                 // [96, 64]
            try (HalfTensor hw = half == null ? null : HalfOps.cast(w, half)) {
                NDArray wide = hw == null ? w : HalfOps.widen(hw);                                      // [96, 64]
                NDArray reference = ai.djl.nn.core.Linear.linear(x, wide).singletonOrThrow();          // [4, 96]
                String gemm = half == null ? "" : HalfGemm.on(device, half) == HalfGemm.NATIVE ? " (half GEMM)" : " (upcast)";
                ops.add(compare("linear, " + ROWS + " rows" + gemm, linear(x, w, hw), reference, tol));
                try (NDArray row = x.get("0:1"); NDArray rowRef = reference.get("0:1")) {
                    ops.add(compare("linear, 1 row", linear(row, w, hw), rowRef, tol));
                }
                ops.add(compare("linear, input gradient", inputGradient(x, w, hw), wide.sum(new int[] {0}), tol));
                NDArray norm = m.create(gaussian(random, IN, 1.0), new Shape(IN));
                try (HalfTensor hn = half == null ? null : HalfOps.cast(norm, half);
                     NDArray eps = m.create(1e-6f)) {
                    NDArray normWide = hn == null ? norm : HalfOps.widen(hn);
                    NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();                 // [4, 1]
                    NDArray normRef = x.div(rms).mul(normWide);
                    ops.add(compare("rms_norm", hn == null ? normRef : HalfOps.rmsNorm(x, hn, eps), normRef, tol));
                }
                ops.add(attention(m, random, half, tol));
            }
            double[] speed = throughput(m, half, benchSeconds);
            return new Result(device.toString(), dtype, ops, speed[0], speed[1], null);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return new Result(device.toString(), dtype, List.of(), 0, 0, e.getClass().getSimpleName() + ": "
                    + e.getMessage());
        } finally {
            JniUtils.setGradMode(before);
        }
    }

    private static NDArray linear(NDArray x, NDArray w, HalfTensor hw) {
        return hw == null ? ai.djl.nn.core.Linear.linear(x, w).singletonOrThrow() : HalfOps.linear(x, hw, null);
    }

    /** d(sum of x·Wᵀ)/dx for one row, through the linear's training path: {@code [1, in]}, every row = Σ_out W. */
    private static NDArray inputGradient(NDArray x, NDArray w, HalfTensor hw) {
        JniUtils.setGradMode(true);
        try (NDArray row = x.get("0:1"); NDArray leaf = row.duplicate()) {
            leaf.setRequiresGradient(true);
            NDArray y = linear(leaf, w, hw);                                                           // [1, 96]
            NDArray loss = y.sum();
            JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
            return leaf.getGradient().duplicate().reshape(IN);
        } finally {
            JniUtils.setGradMode(false);
        }
    }

    /** Causal SDPA in the dtype against softmax(q·kᵀ/√d + mask)·v in float32. */
    private static OpCheck attention(NDManager m, Random random, HalfType half, double tol) {
        Shape shape = new Shape(1, HEADS, SEQ, HEAD_DIM);
        NDArray q = rounded(m.create(gaussian(random, (int) shape.size(), 1.0), shape), half);
        NDArray k = rounded(m.create(gaussian(random, (int) shape.size(), 1.0), shape), half);
        NDArray v = rounded(m.create(gaussian(random, (int) shape.size(), 1.0), shape), half);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(Math.sqrt(HEAD_DIM));                // [1, H, T, T]
        float[] mask = new float[SEQ * SEQ];
        for (int i = 0; i < SEQ; i++) {
            for (int j = i + 1; j < SEQ; j++) {
                mask[i * SEQ + j] = -1e9f; // a query never sees a later key
            }
        }
        NDArray future = m.create(mask, new Shape(SEQ, SEQ));                                         // [T, T]
        NDArray reference = scores.add(future).softmax(-1).matMul(v);                                 // [1, H, T, D]
        NDArray ours = half == null ? reference : HalfOps.causalAttention(q, k, v, half);
        // attention sums T products of half values and rounds the probabilities: allow a few more units
        return compare("causal attention", ours, reference, half == null ? tol : 4 * tol);
    }

    private static OpCheck compare(String op, NDArray actual, NDArray reference, double tol) {
        double scale = Math.max(1e-6, reference.abs().max().getFloat());
        double error = actual.sub(reference).abs().max().getFloat() / scale;
        return new OpCheck(op, error, tol);
    }

    /** GFLOP/s of the linear as peftd runs it in this dtype: {@code [128, 1024]} rows, then one row. */
    private static double[] throughput(NDManager m, HalfType half, double seconds) {
        Random random = new Random(11);
        NDArray w = m.create(gaussian(random, BENCH_WIDTH * BENCH_WIDTH, 0.03), new Shape(BENCH_WIDTH, BENCH_WIDTH));
        try (HalfTensor hw = half == null ? null : HalfOps.cast(w, half)) {
            double[] out = new double[2];
            int[] rows = {BENCH_ROWS, 1};
            for (int i = 0; i < rows.length; i++) {
                NDArray x = rounded(m.create(gaussian(random, rows[i] * BENCH_WIDTH, 1.0),
                        new Shape(rows[i], BENCH_WIDTH)), half);
                linear(x, w, hw).close(); // warm-up
                long calls = 0;
                long start = System.nanoTime();
                long deadline = start + (long) (seconds / 2 * 1e9);
                NDArray last = null;
                do {
                    if (last != null) {
                        last.close();
                    }
                    last = linear(x, w, hw);
                    calls++;
                } while (System.nanoTime() < deadline);
                last.sum().getFloat(); // waits for a GPU's queue
                double elapsed = (System.nanoTime() - start) / 1e9;
                out[i] = 2.0 * rows[i] * BENCH_WIDTH * BENCH_WIDTH * calls / elapsed / 1e9;
            }
            return out;
        }
    }

    private static NDArray rounded(NDArray x, HalfType half) {
        return half == null ? x : HalfOps.round(x, half);
    }

    private static float[] gaussian(Random random, int n, double std) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return values;
    }
}
