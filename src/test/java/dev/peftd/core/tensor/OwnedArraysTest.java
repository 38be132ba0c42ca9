package dev.peftd.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Arrays built from Java data stay valid for autograd and for views after they are closed and the GC has run. */
class OwnedArraysTest {

    @Test
    void savedForBackwardAfterCloseAndGc() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = manager.ones(new Shape(256));
            x.setRequiresGradient(true);
            float[] threes = new float[256];
            Arrays.fill(threes, 3f);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray y;
                try (NDScope scope = new NDScope()) {
                    NDArray c = OwnedArrays.of(manager, threes, new Shape(256), Device.cpu()); // closed with the scope
                    y = x.mul(c).sum(); // autograd keeps c for d y / d x
                    NDScope.unregister(y);
                }
                HeapChurn.freeAndReuseDirectMemory();
                collector.backward(y);
                assertArrayEquals(threes, x.getGradient().toFloatArray());
            }
        }
    }

    @Test
    void viewsOutliveTheArray() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray view;
            try (NDArray ids = OwnedArrays.of(manager, new long[] {7, 8, 9, 10}, new Shape(4), Device.cpu())) {
                view = ids.reshape(2, 2);
            }
            HeapChurn.freeAndReuseDirectMemory();
            assertArrayEquals(new long[] {7, 8, 9, 10}, view.toLongArray());
        }
    }
}
