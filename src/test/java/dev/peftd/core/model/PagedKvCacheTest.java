package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.NoGrad;
import org.junit.jupiter.api.Test;

/**
 * A step whose rows all start at position 0 (a prefill) attends to the keys and values it was given, reading
 * nothing back, and still keeps them: the next step, each row at its own position, reads every row's own history
 * back (gathered by index), with its new position last.
 */
class PagedKvCacheTest {

    @Test
    void aPrefillAttendsToWhatItWasGivenAndTheNextStepReadsItBack() throws Exception {
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             PagedKvCache cache = model.newPagedCache(8, 4)) {
            ModelConfig c = model.config();
            int kvHeads = c.numKvHeads();
            int headDim = c.headDim();
            int[][] tables = {cache.allocate(6), cache.allocate(5)};
            manager.getEngine().setRandomSeed(3);
            NDArray k = manager.randomNormal(new Shape(2, kvHeads, 3, headDim)); // [B, kvHeads, T, headDim]
            NDArray v = manager.randomNormal(new Shape(2, kvHeads, 3, headDim));
            NDArray k2 = manager.randomNormal(new Shape(2, kvHeads, 1, headDim));
            NDArray v2 = manager.randomNormal(new Shape(2, kvHeads, 1, headDim));
            try (NDScope step = new NDScope()) {
                // row 0: 3 real tokens; row 1: 2 real tokens and one of padding
                NDList attended = cache.step(tables, new int[] {0, 0}, new int[] {3, 2}, 3, Device.cpu()).append(0, k, v);
                assertThat(attended.get(0)).as("nothing read back").isSameAs(k);
                assertThat(attended.get(1)).isSameAs(v);
            }
            try (NDScope step = new NDScope()) {
                NDList attended = cache.step(tables, new int[] {3, 2}, new int[] {1, 1}, 1, Device.cpu()).append(0, k2, v2);
                NDArray keys = attended.get(0); // [2, kvHeads, 4, headDim]: row 1 attends to 3, position 3 masked
                NDArray values = attended.get(1);
                assertThat(keys.getShape()).isEqualTo(new Shape(2, kvHeads, 4, headDim));
                assertSame(keys.get(new NDIndex("0, :, 0:3")), k.get(new NDIndex("0")));
                assertSame(keys.get(new NDIndex("0, :, 3:4")), k2.get(new NDIndex("0")));
                assertSame(keys.get(new NDIndex("1, :, 0:2")), k.get(new NDIndex("1, :, 0:2")));
                assertSame(keys.get(new NDIndex("1, :, 2:3")), k2.get(new NDIndex("1")));
                assertSame(values.get(new NDIndex("0, :, 0:3")), v.get(new NDIndex("0")));
                assertSame(values.get(new NDIndex("1, :, 2:3")), v2.get(new NDIndex("1")));
            }
        }
    }

    /**
     * A new cache's storage is uninitialised but for the padding block (block 0), which is read under a mask before
     * anything may be written to it: it must hold zeros, in float32 and in a half model's type, since NaN bits would
     * pass the mask.
     */
    @Test
    void aNewCachesPaddingBlockHoldsZeros() throws Exception {
        try (NoGrad ignored = NoGrad.enter();
             CausalLm float32 = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             CausalLm bf16 = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             PagedKvCache full = float32.newPagedCache(8, 4); PagedKvCache half = bf16.newPagedCache(8, 4)) {
            for (int layer = 0; layer < float32.config().numLayers(); layer++) {
                for (NDArray storage : new NDArray[] {(NDArray) full.keyStorage(layer), (NDArray) full.valueStorage(layer),
                        HalfOps.widen((HalfTensor) half.keyStorage(layer)),
                        HalfOps.widen((HalfTensor) half.valueStorage(layer))}) {
                    float[] padding = storage.get(new NDIndex("0:4")).toFloatArray(); // [blockSize, kvHeads·headDim]
                    assertThat(padding).as("layer " + layer).containsOnly(0f);
                }
            }
        }
    }

    private static void assertSame(NDArray actual, NDArray expected) {
        assertThat(actual.toFloatArray()).containsExactly(expected.toFloatArray());
    }
}
