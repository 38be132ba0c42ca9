package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.function.Supplier;

/**
 * Runs a forward pass in its own {@link NDScope} so that every intermediate array is freed when it returns (op
 * results attach to the first operand's manager, which may be the long-lived weights manager: djl-notes.md §4).
 * The result survives and joins the caller's scope, if the caller has one. Autograd keeps what backward needs on
 * the native side, so freeing the Java handles does not break training.
 */
public final class ForwardScope {

    private ForwardScope() {
    }

    public static NDArray run(Supplier<NDArray> forward) {
        NDArray result;
        try (NDScope scope = new NDScope()) {
            result = forward.get();
            NDScope.unregister(result);
        }
        NDScope.register(result);
        return result;
    }
}
