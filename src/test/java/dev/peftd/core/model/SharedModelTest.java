package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One loaded model used by several threads at once, and trained through: gradients reach adapter tensors via the hook. */
class SharedModelTest {

    private static final long[] PROMPT = {1, 17, 250, 3, 99, 42, 8, 300};

    @Test
    void concurrentForwardsAndDecodesMatchSequentialOnes() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyQwen2(), Device.cpu());
                NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            float[] expectedFull = model.forward(manager.create(PROMPT).reshape(1, -1), null, null).toFloatArray();
            List<Long> expectedGreedy = greedy(model, 12);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> runs = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    runs.add(pool.submit(() -> {
                        for (int i = 0; i < 5; i++) {
                            try (NDManager local = NDManager.newBaseManager(Device.cpu())) {
                                NDArray logits = model.forward(local.create(PROMPT).reshape(1, -1), null, null);
                                assertEquals(new Shape(1, PROMPT.length, 384), logits.getShape());
                                assertArrayEquals(expectedFull, logits.toFloatArray());
                            }
                            assertEquals(expectedGreedy, greedy(model, 12));
                        }
                        return null;
                    }));
                }
                for (Future<?> run : runs) {
                    run.get();
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static List<Long> greedy(CausalLm model, int tokens) {
        List<Long> out = new ArrayList<>();
        try (NDManager local = NDManager.newBaseManager(Device.cpu()); KvCache cache = model.newCache()) {
            NDArray input = local.create(PROMPT).reshape(1, -1);
            for (int i = 0; i < tokens; i++) {
                try (NDScope scope = new NDScope()) {
                    NDArray logits = model.forward(input, cache, null);
                    long next = logits.get(new NDIndex("0, -1")).argMax().getLong();
                    out.add(next);
                    // created with its shape, not reshaped: a reshaped view would outlive the array owning the
                    // memory (freed when the scope closes it), and read garbage
                    input = local.create(new long[] {next}, new Shape(1, 1));
                    NDScope.unregister(input);
                }
            }
        }
        return out;
    }

    @Test
    void gradientsFlowThroughTheHookButNotIntoBaseWeights() throws Exception {
        String module = "model.layers.1.self_attn.v_proj";
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
                NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Linear target = model.linears().get(module);
            // a dense additive delta x·Dᵀ on one module: the simplest adapter, its gradient checked by finite differences
            NDArray delta = manager.randomNormal(0, 0.05f, new Shape(target.outFeatures(), target.inFeatures()), DataType.FLOAT32);
            delta.setRequiresGradient(true);
            LinearHook hook = (name, x, y) -> name.equals(module) ? y.add(x.matMul(delta.transpose())) : y;
            NDArray ids = manager.create(PROMPT).reshape(2, 4);
            float analytic;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray loss = model.forward(ids, null, hook).logSoftmax(2).get(new NDIndex(":, :, 7")).mean().neg();
                collector.backward(loss);
                NDArray gradient = delta.getGradient();
                assertFalse(Float.isNaN(gradient.sum().getFloat()));
                assertTrue(gradient.abs().max().getFloat() > 0, "the adapter tensor received a gradient");
                analytic = gradient.getFloat(3, 5);
            }
            for (Linear linear : model.linears().values()) {
                assertFalse(JniUtils.requiresGrad((PtNDArray) linear.weight()), linear.name() + " is frozen");
                assertNull(JniUtils.getGradient((PtNDArray) linear.weight()), linear.name() + " got no gradient");
            }
            float h = 1e-2f;
            float numeric = (loss(model, ids, hook, delta, 3, 5, h) - loss(model, ids, hook, delta, 3, 5, -h)) / (2 * h);
            System.out.printf("d loss / d delta[3,5]: autograd %.6f, central difference %.6f%n", analytic, numeric);
            assertEquals(numeric, analytic, 2e-3 + 0.02 * Math.abs(numeric), "d loss / d delta[3,5]");
        }
    }

    private static float loss(CausalLm model, NDArray ids, LinearHook hook, NDArray delta, int row, int col, float step) {
        float original = delta.getFloat(row, col);
        delta.set(new NDIndex(row + "," + col), original + step);
        float value = model.forward(ids, null, hook).logSoftmax(2).get(new NDIndex(":, :, 7")).mean().neg().getFloat();
        delta.set(new NDIndex(row + "," + col), original);
        return value;
    }
}
