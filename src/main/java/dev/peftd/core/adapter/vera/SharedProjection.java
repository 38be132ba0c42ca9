package dev.peftd.core.adapter.vera;

import ai.djl.ndarray.NDArray;

/**
 * Computes {@code x·A_sᵀ} once per layer input: every target that reads the same input (q/k/v, gate/up) and has the
 * same width uses the same slice of the shared {@code vera_A}, so the product is the same ({@code [..., r]}). PEFT
 * recomputes it per target. The memo is per thread and holds only the last input, keyed by identity (a new forward
 * creates new input arrays, so a hit is always the same tensor).
 */
final class SharedProjection {

    private static final class Entry {
        NDArray input;
        long width;
        NDArray projected;
    }

    private final ThreadLocal<Entry> last = ThreadLocal.withInitial(Entry::new);

    /** {@code x·sliceAᵀ}, {@code [..., r]}. */
    NDArray project(NDArray input, NDArray sliceA) {
        Entry e = last.get();
        long width = sliceA.getShape().get(1);
        if (e.input == input && e.width == width && e.projected != null && !e.projected.isReleased()) {
            return e.projected;
        }
        NDArray projected = ai.djl.nn.core.Linear.linear(input, sliceA).singletonOrThrow();
        e.input = input;
        e.width = width;
        e.projected = projected;
        return projected;
    }

    /** Drops the memo of this thread (its arrays belong to the caller's scope). */
    void forget() {
        last.remove();
    }
}
