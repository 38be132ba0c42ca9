package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.NoGrad;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A half Llama-style block that no adapter touches runs as two fused calls (plus the attention's) instead of op by
 * op, and gives the op-by-op path's logits bit for bit: a prefill, decode steps and a chunk after cached keys, with
 * q/k/v biases (Qwen2) and without.
 */
class HalfFusedBlockTest {

    private static final int[][] CHUNKS = {{0, 5}, {5, 6}, {6, 7}, {7, 8}, {8, 12}}; // prefill, decode ×3, a chunk

    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-llama, FLOAT16", "tiny-qwen2, BFLOAT16", "tiny-mistral, BFLOAT16"})
    void aBlockNoHookAdaptsGivesTheOpByOpLogitsBitForBit(String fixture, ModelDtype dtype) throws Exception {
        CountingHook bypassed = new CountingHook(false); // adapts nothing: the blocks may skip it
        CountingHook opByOp = new CountingHook(true);    // claims every module: the blocks must call it per linear
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             KvCache fusedCache = model.newCache(); KvCache opByOpCache = model.newCache()) {
            NDArray all = manager.create(ids(model, 2 * 12), new Shape(2, 12)); // [2, 12]
            for (int[] chunk : CHUNKS) {
                try (NDScope step = new NDScope()) {
                    NDArray piece = all.get(":, " + chunk[0] + ":" + chunk[1]); // [2, T]
                    float[] fused = model.forward(piece, fusedCache, bypassed).toFloatArray();
                    float[] reference = model.forward(piece, opByOpCache, opByOp).toFloatArray();
                    assertThat(fused).as(fixture + " " + dtype + " positions " + chunk[0] + "…")
                            .containsExactly(reference);
                }
            }
            try (NDScope whole = new NDScope()) {
                assertThat(model.forward(all, null, bypassed).toFloatArray()).as("no cache")
                        .containsExactly(model.forward(all, null, opByOp).toFloatArray());
            }
            int linearsPerCall = 7 * model.config().numLayers(); // the head is not a block's
            assertThat(opByOp.applied.get()).as("the op-by-op path handed every block linear to its hook")
                    .isGreaterThanOrEqualTo(linearsPerCall * (CHUNKS.length + 1));
            assertThat(bypassed.applied.get()).as("the fused path handed no block linear to a hook that adapts none")
                    .isZero();
        }
    }

    private static long[] ids(CausalLm model, int count) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = (17L + 31L * i) % model.config().vocabSize();
        }
        return ids;
    }

    /** Returns every base output unchanged and counts the calls; says it adapts every module or none. */
    private static final class CountingHook implements LinearHook {
        private final boolean adaptsAll;
        private final AtomicInteger applied = new AtomicInteger();

        CountingHook(boolean adaptsAll) {
            this.adaptsAll = adaptsAll;
        }

        @Override
        public NDArray apply(String module, NDArray input, NDArray baseOutput) {
            if (module.contains("layers.")) {
                applied.incrementAndGet();
            }
            return baseOutput;
        }

        @Override
        public boolean adapts(String module) {
            return adaptsAll;
        }
    }
}
