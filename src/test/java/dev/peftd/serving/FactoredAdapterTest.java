package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.NoGrad;
import ai.djl.ndarray.index.NDIndex;
import dev.peftd.core.model.GroupedHook;
import dev.peftd.core.model.HostFactors;
import dev.peftd.core.model.LowRankHook;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.RowFactorStacks;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forward pass an adapter has to itself runs its small modules through a merged weight {@code W + left·right}
 * (one GEMM instead of the base GEMM, two thin matmuls and an add), equal to the factored output within float
 * rounding; a module whose merged weight would be more than eight times its factors stays factored, and the adapter
 * counts the merged weights it may build in its bytes. A batch over several adapters runs a module that every one of
 * its adapters merges as one product over each row's merged weight (the base weight on bare-base rows), with the
 * logits of base plus delta within 1e-4.
 */
class FactoredAdapterTest {

    @Test
    void smallModulesGoThroughAMergedWeightThatEqualsTheFactoredOutput() throws Exception {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             CausalLm model = ModelLoader.load(TestModels.tinyLlama());
             AbstractAdapter source = PeftImporter.load(ServingFixtures.adapterDir("llama-lora"), model.linears());
             FactoredAdapter adapter = FactoredAdapter.fromAdapter(source, model.fusedProducts())) {
            manager.getEngine().setRandomSeed(3);
            Set<String> merged = new HashSet<>();
            Set<String> factored = new HashSet<>();
            long mergedBytes = 0;
            long hostBytes = 0;
            for (String module : adapter.modules()) {
                LinearLayer layer = (LinearLayer) model.linears().get(module);
                NDArray[] f = adapter.lowRank(module); // {left [out, k], right [k, in]}
                long out = layer.outFeatures();
                long in = layer.inFeatures();
                long rank = f[1].getShape().get(0);
                NDArray x = manager.randomNormal(0, 1, new Shape(2, 3, in), DataType.FLOAT32); // [2, 3, in]
                float[] want = adapter.apply(module, x, layer.baseOutput(x)).toFloatArray();  // [2, 3, out]
                for (int call = 0; call < 2; call++) { // the second reuses the merged weight the first built
                    float[] got = adapter.output(layer, x).toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertThat(Math.abs(got[i] - want[i])).as("%s element %d", module, i).isLessThan(1e-5f);
                    }
                }
                boolean small = out * in <= FactoredAdapter.MERGED_BYTES_PER_FACTOR_BYTE * rank * (in + out);
                assertThat(adapter.holdsMergedWeight(module)).as(module).isEqualTo(small);
                (small ? merged : factored).add(module);
                mergedBytes += small ? out * in * Float.BYTES : 0;
                hostBytes += small ? HostFactors.bytes(in, out, (int) rank) : 0; // its Java copy for decode batches
            }
            assertThat(merged).as("q_proj: 64·64 against 8·4·128").anyMatch(m -> m.endsWith("q_proj"));
            assertThat(factored).as("down_proj at rank 2: 64·96 against 8·2·160").anyMatch(m -> m.endsWith("down_proj"));
            assertThat(adapter.bytes()).isEqualTo(adapter.factorBytes() + mergedBytes + hostBytes);
        }
    }

    /**
     * A prefill-shaped pass runs the modules every adapter merges through each row's merged weight; a decode-shaped
     * pass (one token a row, on this float32 CPU base) adds those modules' deltas in Java from the adapters'
     * {@link HostFactors}. Both equal every row alone within 1e-4, and each adapted row lies well outside that from
     * the bare base (a row given another's delta, or none, would fail).
     */
    @Test
    void aBatchOfLoraVeraDeltaLoraAndBareBaseRowsRunsSmallModulesMergedInAPrefillAndThroughJavaDeltasInADecodeStep(
            @TempDir Path tmp) throws Exception {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             CausalLm model = ModelLoader.load(TestModels.tinyLlama()); ThreeAdapters a = ThreeAdapters.of(model, tmp)) {
            manager.getEngine().setRandomSeed(5);
            List<GroupedHook.Group> groups = List.of(new GroupedHook.Group(1, null), new GroupedHook.Group(2, a.lora()),
                    new GroupedHook.Group(2, a.vera()), new GroupedHook.Group(2, a.delta()),
                    new GroupedHook.Group(1, null));
            NDArray ids = manager.randomInteger(3, model.config().vocabSize(), new Shape(8, 5), DataType.INT64); // [8, 5]
            try (GroupedHook grouped = new GroupedHook(groups)) {
                float[][] batched = rows(model.forward(ids, null, grouped)); // [8, 5, vocab]
                // alone, and base + delta: only apply is called, never the adapter's own merged weight
                assertEachRowAsAlone(model, ids, groups, batched, hook -> hook::apply, "");
                assertThat(grouped.path("model.layers.0.self_attn.q_proj")).as("every adapter merges q_proj")
                        .isEqualTo(GroupedHook.Path.MERGED);
                assertThat(grouped.path("model.layers.0.self_attn.k_proj")).as("Delta-LoRA rows take the base k_proj")
                        .isEqualTo(GroupedHook.Path.MERGED);
                assertThat(grouped.path("model.layers.0.mlp.down_proj")).as("LoRA's rank-2 down_proj stays factored")
                        .isEqualTo(GroupedHook.Path.GATHERED);
            }
            NDArray step = ids.get(new NDIndex(":, :1")); // [8, 1]
            try (GroupedHook grouped = new GroupedHook(groups)) {
                float[][] batched = rows(model.forward(step, null, grouped)); // [8, 1, vocab]
                assertEachRowAsAlone(model, step, groups, batched, hook -> hook::apply, "decode ");
                assertThat(grouped.path("model.layers.0.self_attn.q_proj")).isEqualTo(GroupedHook.Path.HOST);
                assertThat(grouped.path("model.layers.0.mlp.down_proj")).as("LoRA's rank-2 down_proj keeps no copy")
                        .isEqualTo(GroupedHook.Path.GATHERED);
            }
            for (int row = 1; row < 7; row++) { // the adapted rows
                NDArray one = step.get(new NDIndex("{}:{}", row, row + 1)); // [1, 1]
                float[] bare = model.forward(one, null, null).toFloatArray();
                float[] own = model.forward(one, null, groups.get((row + 1) / 2).hook()).toFloatArray();
                float apart = 0;
                for (int i = 0; i < bare.length; i++) {
                    apart = Math.max(apart, Math.abs(bare[i] - own[i]));
                }
                assertThat(apart).as("row %d's adapter moves its logits", row).isGreaterThan(1e-2f);
            }
        }
    }

    /**
     * The same batch with no merged weights offered (as a wider model's adapters): every adapted module is gathered,
     * the shared base GEMM plus each row's own factors, and q/k/v and gate/up take their deltas together from the
     * second pass on (the first shows the families, {@code SiblingFactors}); both passes equal each row alone, base
     * plus its factored delta, within 1e-4.
     */
    @Test
    void aBatchOfLoraVeraDeltaLoraAndBareBaseRowsWithoutMergedWeightsGetsEachRowsOwnDeltaInEveryPass(@TempDir Path tmp)
            throws Exception {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             CausalLm model = ModelLoader.load(TestModels.tinyLlama()); ThreeAdapters a = ThreeAdapters.of(model, tmp)) {
            manager.getEngine().setRandomSeed(6);
            // three hooks on LoRA's rank-4 factors beside VeRA's rank 8: ΣK > 2·K on every module, so none is masked
            // and q/k/v, gate/up are families
            List<GroupedHook.Group> groups = List.of(new GroupedHook.Group(2, factoredOnly(a.lora())),
                    new GroupedHook.Group(1, null), new GroupedHook.Group(1, factoredOnly(a.vera())),
                    new GroupedHook.Group(1, factoredOnly(a.lora())), new GroupedHook.Group(2, factoredOnly(a.delta())),
                    new GroupedHook.Group(1, factoredOnly(a.lora())));
            try (GroupedHook grouped = new GroupedHook(groups)) {
                for (int pass = 0; pass < 2; pass++) {
                    NDArray ids = manager.randomInteger(3, model.config().vocabSize(), new Shape(8, 4),
                            DataType.INT64); // [8, 4]
                    float[][] batched = rows(model.forward(ids, null, grouped)); // [8, 4, vocab]
                    assertEachRowAsAlone(model, ids, groups, batched, hook -> hook, "pass " + pass + " ");
                }
                for (String module : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                        "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                    assertThat(grouped.path("model.layers.1." + module)).as(module).isEqualTo(GroupedHook.Path.GATHERED);
                }
            }
        }
    }

    /**
     * A bf16 base serves float32 adapters batched: LoRA, VeRA, Delta-LoRA and bare-base rows in one pass each get their
     * own delta. Batch and alone may take different GEMMs (several rows against one; an upcast float32 GEMM on a CPU
     * without bf16 instructions), so they are held to bf16 rounding (logits within 2e-2; bit-equal on the avx512_bf16
     * EPYC), not 1e-4; every adapted row is farther than that from the bare base, so a row
     * that got another adapter's delta, or none, fails.
     */
    @Test
    void aBatchOnABfloat16BaseGivesEachRowItsOwnFloat32AdaptersDelta(@TempDir Path tmp) throws Exception {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             ThreeAdapters a = ThreeAdapters.of(model, tmp)) {
            manager.getEngine().setRandomSeed(7);
            List<GroupedHook.Group> groups = List.of(new GroupedHook.Group(2, a.lora()), new GroupedHook.Group(1, null),
                    new GroupedHook.Group(2, a.vera()), new GroupedHook.Group(2, a.delta()),
                    new GroupedHook.Group(1, a.lora()));
            NDArray ids = manager.randomInteger(3, model.config().vocabSize(), new Shape(8, 5), DataType.INT64); // [8, 5]
            try (GroupedHook grouped = new GroupedHook(groups)) {
                float[][] batched = rows(model.forward(ids, null, grouped)); // [8, 5, vocab]
                assertEachRowAsAlone(model, ids, groups, batched, hook -> hook, "bf16 ", BF16_BATCH_TOLERANCE);
            }
            int row = 0;
            for (GroupedHook.Group group : groups) {
                for (int r = 0; r < group.rows(); r++, row++) {
                    NDArray one = ids.get(new NDIndex("{}:{}", row, row + 1)); // [1, 5]
                    float[] bare = model.forward(one, null, null).toFloatArray();
                    float[] adapted = model.forward(one, null, group.hook()).toFloatArray();
                    float distance = 0;
                    for (int i = 0; i < bare.length; i++) {
                        distance = Math.max(distance, Math.abs(bare[i] - adapted[i]));
                    }
                    if (group.hook() != null) {
                        assertThat(distance).as("row %d: the adapter moves the bf16 base's logits", row)
                                .isGreaterThan(10 * BF16_BATCH_TOLERANCE);
                    }
                }
            }
        }
    }

    /**
     * On a half base an adapter of every block linear hands each fused block its one-row stacks (q/k/v and gate/up
     * side by side, the lefts block-diagonal), built once and kept, and counts exactly what they take in
     * {@link FactoredAdapter#bytes()} from the start; one that leaves k_proj alone hands none for q/k/v (those blocks
     * run op by op), nor does any adapter on a float32 base.
     */
    @Test
    void onAHalfBaseAnAdapterOfEveryBlockLinearHandsItsBlocksOneRowStacks(@TempDir Path tmp) throws Exception {
        LoraConfig everyLinear = LoraConfig.of(4, 8, TargetModules.names(
                List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")));
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             CausalLm half = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             CausalLm full = ModelLoader.load(TestModels.tinyLlama());
             AbstractAdapter onHalf = Adapters.create(everyLinear, half.linears(), 3);
             AbstractAdapter onFull = Adapters.create(everyLinear, full.linears(), 3);
             FactoredAdapter servedHalf = FactoredAdapter.fromAdapter(onHalf, half.fusedProducts());
             FactoredAdapter servedFull = FactoredAdapter.fromAdapter(onFull, full.fusedProducts());
             ThreeAdapters three = ThreeAdapters.of(half, tmp)) {
            List<List<String>> products = half.fusedProducts();
            assertThat(products).as("four products a block").hasSize(4 * half.config().numLayers());
            assertThat(full.fusedProducts()).as("a float32 model runs no fused block").isEmpty();
            NDArray like = manager.zeros(new Shape(2, 1, half.config().hiddenSize())); // [B, T, hidden]
            long hidden = half.config().hiddenSize();
            long stackBytes = 0;
            for (int block = 0; block < products.size(); block += 4) {
                List<RowFactorStacks> stacks = servedHalf.rowFactorStacks(products.subList(block, block + 4), like);
                assertThat(stacks).hasSize(4);
                for (RowFactorStacks s : stacks) {
                    stackBytes += Float.BYTES * (s.right().size() + s.left().size());
                }
                long qkvOut = half.linears().get(products.get(block).get(0)).weightShape().get(0)
                        + 2 * half.linears().get(products.get(block).get(1)).weightShape().get(0);
                assertThat(stacks.get(0).right().getShape()).isEqualTo(new Shape(1, hidden, 12)); // q, k, v at rank 4
                assertThat(stacks.get(0).left().getShape()).isEqualTo(new Shape(1, 12, qkvOut));
                assertThat(stacks.get(3).left().getShape()).isEqualTo(new Shape(1, 4, hidden));
                assertThat(servedHalf.rowFactorStacks(products.subList(block, block + 4), like).get(0).right())
                        .as("kept, not rebuilt").isSameAs(stacks.get(0).right());
            }
            assertThat(servedHalf.bytes()).as("the factors and exactly the stacks built, counted from the start")
                    .isEqualTo(servedHalf.factorBytes() + stackBytes);
            assertThat(three.delta().rowFactorStacks(products.subList(0, 4), like))
                    .as("Delta-LoRA of q, v, down: k_proj not adapted").isNull();
            assertThat(servedFull.rowFactorStacks(products.subList(0, 4), like)).as("a float32 base").isNull();
        }
    }

    private static final float BF16_BATCH_TOLERANCE = 2e-2f;

    /** Served LoRA, VeRA and Delta-LoRA adapters (q, v, down at rank 2r = 8) of the tiny Llama. */
    private record ThreeAdapters(FactoredAdapter lora, FactoredAdapter vera, FactoredAdapter delta)
            implements AutoCloseable {
        static ThreeAdapters of(CausalLm model, Path tmp) throws Exception {
            Path deltaLora = BatchedServingTest.deltaLoraAdapter(tmp.resolve("delta-lora"));
            FactoredAdapter lora = served(ServingFixtures.adapterDir("llama-lora"), model);
            FactoredAdapter vera = served(ServingFixtures.adapterDir("llama-vera"), model);
            return new ThreeAdapters(lora, vera, served(deltaLora, model));
        }

        @Override
        public void close() {
            lora.close();
            vera.close();
            delta.close();
        }
    }

    /**
     * Each batch row's logits against the same ids through its group's hook ({@code alone} of it; a bare-base row
     * none) on that row alone, within 1e-4.
     *
     * @param batched {@code [B][T·vocab]}
     */
    private static void assertEachRowAsAlone(CausalLm model, NDArray ids, List<GroupedHook.Group> groups,
            float[][] batched, UnaryOperator<LinearHook> alone, String label) {
        assertEachRowAsAlone(model, ids, groups, batched, alone, label, 1e-4f);
    }

    private static void assertEachRowAsAlone(CausalLm model, NDArray ids, List<GroupedHook.Group> groups,
            float[][] batched, UnaryOperator<LinearHook> alone, String label, float tolerance) {
        float worst = 0;
        int row = 0;
        for (GroupedHook.Group group : groups) {
            LinearHook hook = group.hook() == null ? null : alone.apply(group.hook());
            for (int r = 0; r < group.rows(); r++, row++) {
                float[] single = model.forward(ids.get(new NDIndex("{}:{}", row, row + 1)), null, hook)
                        .toFloatArray(); // [1, T, vocab]
                for (int i = 0; i < single.length; i++) {
                    assertThat(Math.abs(batched[row][i] - single[i])).as("%srow %d logit %d", label, row, i)
                            .isLessThan(tolerance);
                    worst = Math.max(worst, Math.abs(batched[row][i] - single[i]));
                }
            }
        }
        System.out.printf("%sbatched against alone: max |Δlogit| %.3g%n", label, worst);
    }

    /** {@code adapter}'s factored delta alone: no merged weight offered, so a batch gathers its factors. */
    private static LowRankHook factoredOnly(FactoredAdapter adapter) {
        return new LowRankHook() {
            @Override
            public NDArray apply(String module, NDArray input, NDArray baseOutput) {
                return adapter.apply(module, input, baseOutput);
            }

            @Override
            public NDArray[] lowRank(String module) {
                return adapter.lowRank(module);
            }
        };
    }

    private static FactoredAdapter served(Path dir, CausalLm model) throws Exception {
        try (AbstractAdapter source = PeftImporter.load(dir, model.linears())) {
            return FactoredAdapter.fromAdapter(source, model.fusedProducts());
        }
    }

    /** @param logits {@code [B, T, vocab]} → each row's {@code T·vocab} floats */
    private static float[][] rows(NDArray logits) {
        int batch = (int) logits.getShape().get(0);
        float[] flat = logits.toFloatArray();
        int each = flat.length / batch;
        float[][] rows = new float[batch][];
        for (int r = 0; r < batch; r++) {
            rows[r] = java.util.Arrays.copyOfRange(flat, r * each, (r + 1) * each);
        }
        return rows;
    }
}
