package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.peftd.core.tensor.HeapChurn;
import org.junit.jupiter.api.Test;

/** Rotary tables: transformers' frequencies, and safe for a backward pass that runs after the forward call's scope. */
class RotaryEmbeddingTest {

    @Test
    void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
        RopeParameters llama3 = new RopeParameters("llama3", 500000.0, 8.0, 1.0, 4.0, 8192);
        float[] plain = RopeParameters.plain(500000.0).inverseFrequencies(128);
        float[] scaled = llama3.inverseFrequencies(128);
        assertEquals(plain[0], scaled[0], "wavelength 2π, far below 8192/4: unchanged");
        assertEquals(plain[63] / 8, scaled[63], 1e-12, "wavelength beyond 8192: divided by the factor");
    }

    @Test
    void gradientThroughRotationSurvivesGarbageCollection() {
        RotaryEmbedding rotary = new RotaryEmbedding(RopeParameters.plain(10000.0), 16);
        float[] undisturbed = gradient(rotary, false);
        assertArrayEquals(undisturbed, gradient(rotary, true));
    }

    private static float[] gradient(RotaryEmbedding rotary, boolean churn) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = manager.ones(new Shape(1, 2, 4, 16)); // [B, heads, T, headDim]
            x.setRequiresGradient(true);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray y;
                try (NDScope scope = new NDScope()) { // like a forward call: the tables are closed before backward
                    y = RotaryEmbedding.apply(x, rotary.tables(3, 4, x)).sum();
                    NDScope.unregister(y);
                }
                if (churn) {
                    HeapChurn.freeAndReuseDirectMemory();
                }
                collector.backward(y);
                return x.getGradient().toFloatArray();
            }
        }
    }
}
