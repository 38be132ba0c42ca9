package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.junit.jupiter.api.Test;

/**
 * Forward calls free everything they create: the weights manager's array count stays flat across repeated full
 * forwards, hooked forwards and a long cached decode, and the caller's scope owns the returned logits.
 */
class ForwardResourcesTest {

    @Test
    void repeatedForwardsDoNotGrowTheWeightsManager() throws Exception {
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
                NDManager caller = NDManager.newBaseManager(Device.cpu());
                CausalLm model = ModelLoader.load(TestModels.tinyLlama(), root)) {
            NDArray ids = caller.create(new long[] {1, 5, 9, 33, 2, 7}).reshape(2, 3);
            model.forward(ids, null, null).close(); // first call may create lazily cached scalars
            int weights = root.getManagedArrays().size();
            assertTrue(weights >= 21, "the count covers the model's sub-manager: " + weights);
            int callers = caller.getManagedArrays().size();
            LinearHook doubling = (module, x, y) -> y.add(y);
            for (int i = 0; i < 50; i++) {
                model.forward(ids, null, i % 2 == 0 ? null : doubling).close();
            }
            assertEquals(weights, root.getManagedArrays().size(), "weights manager after 50 forwards");
            assertEquals(callers, caller.getManagedArrays().size(), "caller manager after closing the logits");
            try (NDScope step = new NDScope()) {
                model.forward(ids, null, null); // not closed here: the caller's scope frees it
            }
            assertEquals(callers, caller.getManagedArrays().size(), "logits belong to the caller's scope");
        }
    }

    @Test
    void longCachedDecodeKeepsCountsFlat() throws Exception {
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
                NDManager caller = NDManager.newBaseManager(Device.cpu());
                CausalLm model = ModelLoader.load(TestModels.tinyLlama(), root)) {
            int weights = root.getManagedArrays().size();
            int callers = caller.getManagedArrays().size();
            int[] midway = new int[1];
            try (KvCache cache = model.newCache()) {
                long token = 1;
                for (int step = 0; step < 300; step++) {
                    try (NDScope scope = new NDScope()) {
                        NDArray logits = model.forward(caller.create(new long[] {token}).reshape(1, 1), cache, null);
                        token = logits.argMax().getLong();
                    }
                    if (step == 10) {
                        midway[0] = root.getManagedArrays().size();
                    }
                }
                assertEquals(300, cache.length());
                assertEquals(midway[0], root.getManagedArrays().size(), "cache holds a fixed number of arrays");
                assertEquals(weights + 2 * model.config().numLayers(), midway[0], "cache: one k and one v per layer");
            }
            assertEquals(weights, root.getManagedArrays().size(), "closing the cache frees it");
            assertEquals(callers, caller.getManagedArrays().size());
        }
    }
}
