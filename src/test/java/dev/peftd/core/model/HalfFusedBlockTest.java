package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.tensor.NoGrad;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    /**
     * A batch whose rows carry different adapters (and a bare-base row) runs each half block as the same two calls,
     * with each row's own low-rank deltas added inside them, and gives the op-by-op path's logits bit for bit (the
     * same GroupedHook, its stacks, products and float32 sums, called per linear): a prefill, decode steps and a chunk
     * after cached keys, with q/k/v biases (Qwen2) and without.
     */
    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-llama, FLOAT16", "tiny-qwen2, BFLOAT16"})
    void aBatchOverSeveralAdaptersAddsEachRowsDeltasInsideTheFusedCallsBitForBit(String fixture, ModelDtype dtype)
            throws Exception {
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             KvCache fusedCache = model.newCache(); KvCache opByOpCache = model.newCache();
             KvCache bareCache = model.newCache()) {
            manager.getEngine().setRandomSeed(21);
            List<GroupedHook.Group> groups = new ArrayList<>();
            int[] rows = {2, 1, 1, 1, 1}; // four adapters of rank 4 (gathered: ΣK > 2·K) and a bare-base row
            for (int g = 0; g < rows.length; g++) {
                groups.add(new GroupedHook.Group(rows[g], g == 1 ? null : EveryLinear.random(manager, model, 4)));
            }
            int batch = Arrays.stream(rows).sum();
            try (GroupedHook fusedGroups = new GroupedHook(groups); GroupedHook opByOpGroups = new GroupedHook(groups)) {
                Delegating fused = new Delegating(fusedGroups, true);
                Delegating opByOp = new Delegating(opByOpGroups, false);
                NDArray all = manager.create(ids(model, batch * 12), new Shape(batch, 12)); // [B, 12]
                for (int[] chunk : CHUNKS) {
                    try (NDScope step = new NDScope()) {
                        NDArray piece = all.get(":, " + chunk[0] + ":" + chunk[1]); // [B, T]
                        float[] inside = model.forward(piece, fusedCache, fused).toFloatArray();
                        float[] reference = model.forward(piece, opByOpCache, opByOp).toFloatArray();
                        float[] bare = model.forward(piece, bareCache, null).toFloatArray();
                        assertThat(inside).as(fixture + " " + dtype + " positions " + chunk[0] + "…")
                                .containsExactly(reference);
                        assertThat(inside).as("the adapters change the logits").isNotEqualTo(bare);
                    }
                }
                assertThat(opByOp.perLinear.get()).as("the op-by-op path called the hook per block linear")
                        .isGreaterThanOrEqualTo(7 * model.config().numLayers() * CHUNKS.length);
                assertThat(fused.perLinear.get()).as("the fused path called it for no block linear").isZero();
            }
        }
    }

    /**
     * A batch whose rows all carry one adapter hands the block that adapter's one-row stacks
     * ({@link RowFactorStacks#ofOneAdapter}, broadcast over the rows) and stays two calls. Its products differ from
     * the op-by-op path's (a broadcast batched product against two GEMMs), so the logits are held to bf16 rounding,
     * while the adapter moves them ten times farther than that.
     */
    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-qwen2, BFLOAT16"})
    void aBatchOfOneAdapterAddsItsDeltasInsideTheFusedCalls(String fixture, ModelDtype dtype) throws Exception {
        try (NoGrad ignored = NoGrad.enter(); CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             KvCache fusedCache = model.newCache(); KvCache opByOpCache = model.newCache();
             KvCache bareCache = model.newCache()) {
            manager.getEngine().setRandomSeed(22);
            EveryLinear adapter = EveryLinear.random(manager, model, 4);
            OneAdapterStacks fused = new OneAdapterStacks(adapter, manager);
            AtomicInteger opByOpCalls = new AtomicInteger();
            LowRankHook opByOp = new LowRankHook() { // the same factors, no stacks: op by op
                @Override
                public NDArray[] lowRank(String module) {
                    if (module.contains("layers.")) {
                        opByOpCalls.incrementAndGet();
                    }
                    return adapter.lowRank(module);
                }
            };
            NDArray all = manager.create(ids(model, 3 * 12), new Shape(3, 12)); // [3, 12]
            for (int[] chunk : CHUNKS) {
                try (NDScope step = new NDScope()) {
                    NDArray piece = all.get(":, " + chunk[0] + ":" + chunk[1]); // [3, T]
                    float[] inside = model.forward(piece, fusedCache, fused).toFloatArray();
                    float[] reference = model.forward(piece, opByOpCache, opByOp).toFloatArray();
                    float[] bare = model.forward(piece, bareCache, null).toFloatArray();
                    assertThat(maxDifference(inside, reference)).as(fixture + " positions " + chunk[0] + "…")
                            .isLessThan(BF16_TOLERANCE);
                    assertThat(maxDifference(inside, bare)).as("the adapter moves the logits")
                            .isGreaterThan(10 * BF16_TOLERANCE);
                }
            }
            assertThat(opByOpCalls.get()).as("the op-by-op path asked for the factors per block linear")
                    .isGreaterThanOrEqualTo(7 * model.config().numLayers() * CHUNKS.length);
            assertThat(fused.perLinear.get()).as("the fused path called the hook for no block linear").isZero();
        }
    }

    private static final float BF16_TOLERANCE = 2e-2f;

    private static float maxDifference(float[] a, float[] b) {
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** An adapter's factors with its one-row stacks, built once per product, as a served adapter keeps them. */
    private static final class OneAdapterStacks implements LowRankHook {
        private final EveryLinear adapter;
        private final NDManager kept;
        private final Map<String, RowFactorStacks> stacks = new HashMap<>();
        private final AtomicInteger perLinear = new AtomicInteger();

        OneAdapterStacks(EveryLinear adapter, NDManager kept) {
            this.adapter = adapter;
            this.kept = kept;
        }

        @Override
        public NDArray[] lowRank(String module) {
            if (module.contains("layers.")) {
                perLinear.incrementAndGet();
            }
            return adapter.lowRank(module);
        }

        @Override
        public List<RowFactorStacks> rowFactorStacks(List<List<String>> products, NDArray like) {
            List<RowFactorStacks> all = new ArrayList<>();
            for (List<String> modules : products) {
                all.add(stacks.computeIfAbsent(modules.get(0), m -> RowFactorStacks.ofOneAdapter(
                        modules.stream().map(adapter::lowRank).toList(), kept)));
            }
            return all;
        }
    }

    /** {@code output = base + x·rightᵀ·leftᵀ} on every block linear, random factors of one rank. */
    private record EveryLinear(Map<String, NDArray[]> factors) implements LowRankHook {
        static EveryLinear random(NDManager manager, CausalLm model, long rank) {
            Map<String, NDArray[]> factors = new HashMap<>();
            model.linears().forEach((name, linear) -> {
                if (name.contains("layers.")) {
                    Shape w = linear.weightShape(); // [out, in]
                    factors.put(name, new NDArray[] {
                        manager.randomNormal(0, 0.05f, new Shape(w.get(0), rank), DataType.FLOAT32),
                        manager.randomNormal(0, 0.05f, new Shape(rank, w.get(1)), DataType.FLOAT32)});
                }
            });
            return new EveryLinear(factors);
        }

        @Override
        public NDArray[] lowRank(String module) {
            return factors.get(module);
        }
    }

    /**
     * A {@link GroupedHook} seen through a hook that counts its per-linear calls on block linears and hands over its
     * row factor stacks only when {@code stacks} (else the blocks must run op by op).
     */
    private static final class Delegating implements LinearHook {
        private final GroupedHook inner;
        private final boolean stacks;
        private final AtomicInteger perLinear = new AtomicInteger();

        Delegating(GroupedHook inner, boolean stacks) {
            this.inner = inner;
            this.stacks = stacks;
        }

        @Override
        public NDArray apply(String module, NDArray input, NDArray baseOutput) {
            count(module);
            return inner.apply(module, input, baseOutput);
        }

        @Override
        public NDArray output(LinearLayer layer, NDArray input) {
            count(layer.name());
            return inner.output(layer, input);
        }

        @Override
        public boolean adapts(String module) {
            return inner.adapts(module);
        }

        @Override
        public List<RowFactorStacks> rowFactorStacks(List<List<String>> products, NDArray like) {
            return stacks ? inner.rowFactorStacks(products, like) : null;
        }

        private void count(String module) {
            if (module.contains("layers.")) {
                perLinear.incrementAndGet();
            }
        }
    }

    /**
     * Under autograd every block runs op by op, even one no hook adapts: a stacked product's backward would round the
     * input's gradient once where PEFT's separate linears round it per linear (measured: gradients 1–5% apart on
     * tiny-llama). An adapter on layer 0 only: the later blocks still hand their linears to the hook, and the
     * gradient reaching layer 0 equals that of a hook claiming every linear, bit for bit.
     */
    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-qwen2, BFLOAT16"})
    void underAutogradBlocksRunOpByOpSoGradientsRoundAsPefts(String fixture, ModelDtype dtype) throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tiny(fixture), Device.cpu(), dtype);
             NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            assertThat(model.config().numLayers()).as("a block after the adapted one").isGreaterThan(1);
            NDArray ids = manager.create(ids(model, 2 * 6), new Shape(2, 6)); // [2, 6]
            AtomicInteger laterLinears = new AtomicInteger();
            float[] layerZeroOnly = layerZeroGradient(model, manager, ids, false, laterLinears);
            float[] everyLinear = layerZeroGradient(model, manager, ids, true, new AtomicInteger());
            assertThat(laterLinears.get()).as("the blocks after layer 0 went op by op")
                    .isEqualTo(7 * (model.config().numLayers() - 1));
            assertThat(layerZeroOnly).as(fixture + ": d(sum of logits)/d(layer 0's q_proj offset)")
                    .containsExactly(everyLinear);
            assertThat(layerZeroOnly).as("a gradient reached layer 0").isNotEqualTo(new float[layerZeroOnly.length]);
        }
    }

    /**
     * The gradient of the logits' sum by a float32 offset added to layer 0's q_proj output; counts the later layers'
     * linears handed to the hook.
     */
    private static float[] layerZeroGradient(CausalLm model, NDManager manager, NDArray ids, boolean claimAll,
            AtomicInteger laterLinears) {
        String module = "model.layers.0.self_attn.q_proj";
        long width = model.linears().get(module).weightShape().get(0);
        NDArray offset = manager.zeros(new Shape(width)); // [out]
        offset.setRequiresGradient(true);
        LinearHook hook = new LinearHook() {
            @Override
            public NDArray apply(String name, NDArray input, NDArray baseOutput) {
                if (name.contains("layers.") && !name.startsWith("model.layers.0.")) {
                    laterLinears.incrementAndGet();
                }
                return name.equals(module) ? baseOutput.add(offset) : baseOutput;
            }

            @Override
            public boolean adapts(String name) {
                return claimAll || name.equals(module);
            }
        };
        JniUtils.setGradMode(true);
        try (NDScope scope = new NDScope()) {
            NDArray loss = model.forward(ids, null, hook).sum(); // 0-d
            JniUtils.backward((PtNDArray) loss, (PtNDArray) manager.ones(new Shape()), false, false);
            return offset.getGradient().toFloatArray();
        } finally {
            JniUtils.setGradMode(false);
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
