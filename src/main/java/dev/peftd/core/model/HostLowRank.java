package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * Each row's own low-rank delta, {@code y[b, t] += left_b·(right_b·x[b, t])}, computed in Java on the tensors' memory
 * (a direct buffer over libtorch's storage) and added into the base output in place: one pass over the rows with no
 * native call per row. Why: on a narrow model a batched step whose rows carry different adapters is bound by what
 * each row's adapter costs libtorch, not by FLOPs. Its batched products run as one small GEMV per row (MKL's
 * {@code xsgemv}: 1.5 ms of a 16-row stories260K decode step went to them, against 0.3 ms for the base's GEMMs),
 * and the per-row merged weights they read, 15 MB a step at 16 rows, do not stay in the caches. Here a row costs its
 * FLOPs, {@code k·(in + out)} multiply-adds, and reads its adapter's factors, {@code k·(in + out)} floats.
 *
 * <p>The loops are written for C2's auto-vectorizer: the up-projection is an axpy per rank column over a
 * {@code float[]} indexed from 0 ({@link HostFactors#leftColumns}; the same loop over one flat array at an offset
 * did not vectorize and ran 3.5× slower), the down-projection keeps {@link HostFactors#LANES} sums in locals.
 * Each output element is summed in a fixed order, whatever the batch, so a row's result does not depend on the
 * rows beside it; it differs from libtorch's GEMMs by float32 rounding only.
 *
 * <p>CPU and float32 only, outside autograd (the writes bypass it): {@link #reads}, {@link #mayWrite}.
 */
final class HostLowRank {

    private HostLowRank() {
    }

    /** Whether {@link #addDeltas} can read {@code input}: a float32 tensor on the CPU. */
    static boolean reads(NDArray input) {
        return input instanceof PtNDArray && input.getDevice().getDeviceType().equals(ai.djl.Device.Type.CPU)
                && input.getDataType() == DataType.FLOAT32;
    }

    /** Whether {@link #addDeltas} may write now: no gradient is being recorded (its writes would bypass autograd). */
    static boolean mayWrite() {
        return !JniUtils.isGradMode();
    }

    /**
     * @param input  float32 {@code [B, T, in]} (read through a contiguous copy when it is not contiguous)
     * @param tokens T
     * @param output float32 {@code [B, T, out]}, contiguous (a linear's fresh output): each adapted row's delta is
     *               added into it in place
     * @param rows   each row's adapter's factors for this module ({@code null}: the row is left alone), all of one
     *               module's {@code in} and {@code out}
     */
    static void addDeltas(NDArray input, long tokens, NDArray output, HostFactors[] rows) {
        HostFactors any = null;
        for (int b = 0; any == null; b++) {
            any = rows[b];
        }
        int in = any.in();
        int out = any.out();
        int values = Math.toIntExact(rows.length * tokens);
        Scratch scratch = SCRATCH.get();
        float[] x = scratch.x(values * in);            // [B·T·in]
        floats(input).get(0, x, 0, values * in);
        FloatBuffer storage = floats(output);          // [B·T·out], libtorch's own
        float[] y = scratch.y(values * out);           // [B·T·out]
        storage.get(0, y, 0, values * out);
        float[] xs = new float[in];
        float[] ys = new float[out];
        float[] h = new float[HostFactors.LANES];
        for (int b = 0; b < rows.length; b++) {
            HostFactors f = rows[b];
            if (f == null) {
                continue;
            }
            if (h.length != f.rightBlocks().length / in) {
                h = new float[f.rightBlocks().length / in]; // [K], the padded rank
            }
            for (int t = 0; t < tokens; t++) {
                int row = Math.toIntExact(b * tokens + t);
                System.arraycopy(x, row * in, xs, 0, in);
                down(xs, f, h);
                System.arraycopy(y, row * out, ys, 0, out);
                up(h, f, ys);
                System.arraycopy(ys, 0, y, row * out, out);
            }
        }
        storage.put(0, y, 0, values * out);
    }

    /**
     * A thread's buffers for the batch's inputs and outputs, kept between calls: fresh arrays of a 64-row step's size
     * were fresh heap pages, and their page faults cost a fifth of the kernel's time.
     */
    private static final class Scratch {
        private float[] x = new float[0];
        private float[] y = new float[0];

        float[] x(int length) {
            if (x.length < length) {
                x = new float[length];
            }
            return x;
        }

        float[] y(int length) {
            if (y.length < length) {
                y = new float[length];
            }
            return y;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** {@code h[j] = Σᵢ right[j, i]·x[i]} for the padded rank, a block of {@link HostFactors#LANES} at a time. */
    private static void down(float[] x, HostFactors f, float[] h) {
        float[] r = f.rightBlocks(); // [K / LANES][in][LANES]
        int in = x.length;
        for (int block = 0, jb = 0; jb < h.length; block++, jb += HostFactors.LANES) {
            float a0 = 0;
            float a1 = 0;
            float a2 = 0;
            float a3 = 0;
            float a4 = 0;
            float a5 = 0;
            float a6 = 0;
            float a7 = 0;
            int start = block * in * HostFactors.LANES;
            for (int i = 0; i < in; i++) {
                int p = start + i * HostFactors.LANES;
                float xi = x[i];
                a0 += xi * r[p];
                a1 += xi * r[p + 1];
                a2 += xi * r[p + 2];
                a3 += xi * r[p + 3];
                a4 += xi * r[p + 4];
                a5 += xi * r[p + 5];
                a6 += xi * r[p + 6];
                a7 += xi * r[p + 7];
            }
            h[jb] = a0;
            h[jb + 1] = a1;
            h[jb + 2] = a2;
            h[jb + 3] = a3;
            h[jb + 4] = a4;
            h[jb + 5] = a5;
            h[jb + 6] = a6;
            h[jb + 7] = a7;
        }
    }

    /** {@code y[o] += Σⱼ h[j]·left[o, j]}, one rank column at a time over the whole output row. */
    private static void up(float[] h, HostFactors f, float[] y) {
        float[][] columns = f.leftColumns(); // [k][out]
        for (int j = 0; j < columns.length; j++) {
            float hj = h[j];
            float[] column = columns[j];
            for (int o = 0; o < y.length; o++) {
                y[o] += hj * column[o];
            }
        }
    }

    /** A view of the tensor's float32 storage (of a contiguous copy when it is not contiguous). */
    private static FloatBuffer floats(NDArray a) {
        ByteBuffer bytes = JniUtils.getByteBuffer((PtNDArray) a, true);
        return bytes.asFloatBuffer(); // getByteBuffer sets the native byte order
    }
}
