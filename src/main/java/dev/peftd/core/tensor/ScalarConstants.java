package dev.peftd.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Long-lived float32 scalar NDArrays for use as operands inside a graph.
 *
 * <p>Why: {@code NDArray.mul(Number)} and friends create a scalar, use it, and free it at once, but autograd keeps
 * a pointer to it for the backward pass, which then reads freed memory (djl-notes.md pitfall 1). Scalars from here
 * live as long as their manager and are never owned by an {@link NDScope}. Thread-safe.
 */
public final class ScalarConstants {

    private final NDManager manager;
    private final Map<Double, NDArray> cache = new ConcurrentHashMap<>();

    /** @param manager long-lived manager on the device the scalars are used on (e.g. the model's weights manager) */
    public ScalarConstants(NDManager manager) {
        this.manager = manager;
    }

    /** The 0-d float32 array holding {@code value} (rounded to float32). */
    public NDArray of(double value) {
        return cache.computeIfAbsent(value, v -> {
            NDArray scalar = OwnedArrays.of(manager, new float[] {(float) value}, new Shape(), manager.getDevice());
            NDScope.unregister(scalar);
            return scalar;
        });
    }
}
