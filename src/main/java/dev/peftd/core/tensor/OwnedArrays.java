package dev.peftd.core.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * NDArrays made from Java data whose memory belongs to libtorch.
 *
 * <p>Why: {@code NDManager.create(float[] …)} wraps a Java direct buffer with {@code torch::from_blob}, so the tensor
 * does not own its memory; the GC frees the buffer once the array is closed. Anything native that still holds the
 * tensor then reads freed memory: autograd saving it for backward (measured: {@code x·c} with {@code c} closed in
 * an NDScope gave gradients of 1e-45, 1e29 and NaN instead of 3 after a GC), or a view made by {@code reshape} that
 * outlives it. Arrays from here are copied into tensor-owned memory, so closing them is always safe. Use them for
 * every constant a forward pass builds in Java (rope tables, masks, positions).
 */
public final class OwnedArrays {

    private OwnedArrays() {
    }

    /** float32 {@code shape} filled from {@code data}, on {@code device}. */
    public static NDArray of(NDManager manager, float[] data, Shape shape, Device device) {
        try (NDArray wrapped = manager.create(data, shape)) {
            return owned(wrapped, device);
        }
    }

    /** clone() always copies; to() onto the same device may return an alias, so it is used only across devices. */
    private static NDArray owned(NDArray wrapped, Device device) {
        return wrapped.getDevice().equals(device) ? wrapped.duplicate() : wrapped.toDevice(device, true);
    }

    /** int64 {@code shape} filled from {@code data}, on {@code device}. */
    public static NDArray of(NDManager manager, long[] data, Shape shape, Device device) {
        try (NDArray wrapped = manager.create(data, shape)) {
            return owned(wrapped, device);
        }
    }
}
