package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfType;
import dev.peftd.core.tensor.NoGrad;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A half model's KV caches hold keys and values in its half type, half the bytes of float32, and lose nothing by it:
 * the keys (rotary outputs) and values (half linear outputs) a half model makes are half values already, so the
 * attention reads back exactly what a float32 cache would have given it, and the hidden states and logits are the
 * float32 cache's bit for bit ({@link Float32CacheModel} is that reference).
 */
class HalfKvCacheTest {

    /** Three rows of different lengths: a padded prefill, three decode steps, then a two-token chunk each. */
    private static final int[] PROMPT = {5, 3, 1};

    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-llama, FLOAT16", "tiny-qwen2, BFLOAT16", "tiny-mistral, BFLOAT16",
        "tiny-gpt2, BFLOAT16", "tiny-gpt2, FLOAT16"})
    void aHalfModelsKeysAndValuesAreHalfValuesAlready(String fixture, ModelDtype dtype) throws Exception {
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             Float32CacheModel reference = new Float32CacheModel(model, Device.cpu());
             PagedKvCache cache = reference.newPagedCache(8, 4)) {
            for (int layer = 0; layer < model.config().numLayers(); layer++) {
                // rows no step writes are uninitialised (djl-notes 15): zeroed here, the check sees only what was written
                ((NDArray) cache.keyStorage(layer)).set(new NDIndex(":"), 0f);
                ((NDArray) cache.valueStorage(layer)).set(new NDIndex(":"), 0f);
            }
            run(model, cache);
            for (int layer = 0; layer < model.config().numLayers(); layer++) {
                for (Object storage : new Object[] {cache.keyStorage(layer), cache.valueStorage(layer)}) {
                    NDArray stored = (NDArray) storage; // float32 [(blocks+1)·blockSize, kvHeads·headDim]
                    float[] values = stored.toFloatArray();
                    try (NDArray rounded = HalfOps.round(stored, dtype.half())) {
                        assertThat(rounded.toFloatArray()).as(fixture + " layer " + layer + ": rounding to "
                                + dtype + " changes nothing").containsExactly(values);
                    }
                    assertThat(countNonZero(values)).as("the steps wrote into the storage").isGreaterThan(values.length / 4);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-llama, FLOAT16", "tiny-qwen2, BFLOAT16", "tiny-gpt2, BFLOAT16"})
    void aHalfPagedCacheGivesTheFloat32CachesHiddenStatesBitForBitInHalfTheBytes(String fixture, ModelDtype dtype)
            throws Exception {
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             Float32CacheModel reference = new Float32CacheModel(model, Device.cpu());
             PagedKvCache half = model.newPagedCache(8, 4); PagedKvCache float32 = reference.newPagedCache(8, 4)) {
            assertThat(half.halfType()).isEqualTo(dtype.half());
            assertThat(float32.halfType()).isNull();
            assertThat(half.storageShape()).isEqualTo(float32.storageShape());
            assertThat(half.bytes() * 2).as("2 bytes a value against 4").isEqualTo(float32.bytes());
            assertThat(half.bytes()).isEqualTo(PagedKvCache.bytes(model.config(), dtype.half(), 8, 4));
            assertThat(PagedKvCache.bytesPerPosition(model.config(), dtype.half()) * 2)
                    .isEqualTo(PagedKvCache.bytesPerPosition(model.config(), null));

            List<float[]> fromHalf = run(model, half);
            List<float[]> fromFloat32 = run(model, float32);
            for (int step = 0; step < fromHalf.size(); step++) {
                assertThat(fromHalf.get(step)).as(fixture + " step " + step).containsExactly(fromFloat32.get(step));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-llama, FLOAT16", "tiny-qwen2, BFLOAT16", "tiny-gpt2, BFLOAT16"})
    void aHalfSequenceCacheGivesTheFloat32CachesLogitsBitForBitInHalfTheBytes(String fixture, ModelDtype dtype)
            throws Exception {
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             Float32CacheModel reference = new Float32CacheModel(model, Device.cpu());
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             KvCache half = model.newCache(); KvCache float32 = reference.newCache()) {
            long[] ids = new long[2 * 12];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (17L + 31L * i) % model.config().vocabSize();
            }
            NDArray all = manager.create(ids, new Shape(2, 12)); // [2, 12]
            int[][] chunks = {{0, 5}, {5, 6}, {6, 7}, {7, 8}, {8, 12}}; // a prefill, decode steps, a chunk
            for (int[] chunk : chunks) {
                try (NDScope step = new NDScope()) {
                    NDArray piece = all.get(":, " + chunk[0] + ":" + chunk[1]); // [2, T]
                    float[] halfLogits = model.forward(piece, half, null).toFloatArray();
                    float[] float32Logits = model.forward(piece, float32, null).toFloatArray();
                    assertThat(halfLogits).as(fixture + " positions " + chunk[0] + "…").containsExactly(float32Logits);
                }
            }
            long halfBytes = ((DecoderKvCache) half).bytes();
            assertThat(halfBytes * 2).isEqualTo(((DecoderKvCache) float32).bytes());
            assertThat(halfBytes).as("2 rows × 12 positions").isEqualTo(2 * 12 * PagedKvCache.bytesPerPosition(model.config(), dtype.half()));
        }
    }

    /** The steps of {@link #PROMPT}'s rows through {@code cache}: each step's hidden states, {@code [B, T, hidden]}. */
    private static List<float[]> run(CausalLm model, PagedKvCache cache) {
        int rows = PROMPT.length;
        int[][] tables = new int[rows][];
        int[] starts = new int[rows];
        for (int r = 0; r < rows; r++) {
            tables[r] = cache.allocate(PROMPT[r] + 5);
        }
        List<float[]> hidden = new ArrayList<>();
        int longest = PROMPT[0];
        hidden.add(step(model, cache, tables, starts, PROMPT.clone(), longest, 0));
        for (int r = 0; r < rows; r++) {
            starts[r] = PROMPT[r];
        }
        for (int s = 0; s < 3; s++) {
            hidden.add(step(model, cache, tables, starts, new int[] {1, 1, 1}, 1, 10 + s));
            for (int r = 0; r < rows; r++) {
                starts[r]++;
            }
        }
        hidden.add(step(model, cache, tables, starts, new int[] {2, 2, 2}, 2, 20));
        return hidden;
    }

    private static float[] step(CausalLm model, PagedKvCache cache, int[][] tables, int[] starts, int[] lengths,
            int length, int seed) {
        int rows = tables.length;
        long[] ids = new long[rows * length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (7L + 13L * (i + seed)) % model.config().vocabSize();
        }
        try (NDManager manager = NDManager.newBaseManager(Device.cpu()); NDScope step = new NDScope()) {
            NDArray input = manager.create(ids, new Shape(rows, length)); // [B, T]
            return model.stepHidden(input, cache.step(tables, starts, lengths, length, Device.cpu()), null).toFloatArray();
        }
    }

    private static int countNonZero(float[] values) {
        int n = 0;
        for (float v : values) {
            n += v != 0 ? 1 : 0;
        }
        return n;
    }
}
