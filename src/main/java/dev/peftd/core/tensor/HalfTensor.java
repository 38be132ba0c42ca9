package dev.peftd.core.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * A bfloat16 or float16 tensor, opaque to the rest of peftd: the {@link NDArray} it wraps is package-private, so no
 * code outside {@code dev.peftd.core.tensor} can call a DJL method on it. Nearly every DJL method that allocates by
 * dtype ({@code zerosLike}, {@code toType}, {@code mul(Number)}, {@code toFloatArray}, autograd's {@code ones} for a
 * half loss) reads the array's type, finds BF16 unmapped and aborts the JVM with {@code std::terminate}, which no
 * {@code catch} stops (djl-notes.md pitfall 2). What a caller can do with one is listed here and in {@link HalfOps}.
 *
 * <p>Owned by the manager it was loaded into; frozen (never requires gradient).
 */
public final class HalfTensor implements AutoCloseable {

    private final NDArray array;
    private final HalfType type;

    HalfTensor(NDArray array, HalfType type) {
        this.array = array;
        this.type = type;
    }

    /** The wrapped native tensor: only {@link HalfOps} passes it on, and only into half-ops.pt. */
    NDArray array() {
        return array;
    }

    public HalfType type() {
        return type;
    }

    /** Safe: the shape is read from the native tensor without looking at its dtype. */
    public Shape shape() {
        return array.getShape();
    }

    /** Element count. */
    public long size() {
        return array.getShape().size();
    }

    /** Bytes the storage holds: two per element, whichever half type. */
    public long bytes() {
        return size() * 2;
    }

    public Device device() {
        return array.getDevice();
    }

    @Override
    public void close() {
        array.close();
    }

    @Override
    public String toString() {
        // NDArray.toString() reads the values by dtype, which aborts for BF16: never delegate to it
        return "HalfTensor(" + type + ", " + shape() + ")";
    }
}
