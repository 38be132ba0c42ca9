package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.peftd.core.tensor.NoGrad;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every row of a grouped batch gets its own adapter's delta, whichever path the hook takes: the gathered one (ΣK
 * above twice the largest rank, {@code [B, T, in]} input; smaller ranks zero-padded), the masked one (two
 * adapters, 2-D input) and the merged one (a small module every adapter serves through a merged weight: one batched
 * product over the rows' stacked weights, the base weight itself on bare-base rows) each equal every group's adapter
 * applied to its rows alone within 1e-5, with bare-base rows between adapters.
 */
class GroupedHookTest {

    private static final long IN = 6;
    private static final long OUT = 7;

    /** {@code output = base + x·rightᵀ·leftᵀ} on module "m" only ({@link LowRankHook#apply}). */
    private record Factors(NDArray left, NDArray right) implements LowRankHook {
        static Factors random(NDManager manager, long rank) {
            return new Factors(manager.randomNormal(0, 0.3f, new Shape(OUT, rank), DataType.FLOAT32),  // [out, K]
                    manager.randomNormal(0, 0.3f, new Shape(rank, IN), DataType.FLOAT32));              // [K, in]
        }

        @Override
        public NDArray[] lowRank(String module) {
            return "m".equals(module) ? new NDArray[] {left, right} : null;
        }
    }

    @Test
    void sixteenRowsOverFiveAdaptersAndTheBaseGatherEachRowsOwnFactors() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(7);
            List<GroupedHook.Group> groups = new ArrayList<>();
            int[] rows = {3, 2, 2, 4, 3, 2};
            for (int g = 0; g < rows.length; g++) {
                groups.add(new GroupedHook.Group(rows[g], g == 2 ? null : Factors.random(manager, 4)));
            }
            assertRowsEqualAlone(manager, groups, new Shape(16, 3, IN), GroupedHook.Path.GATHERED);
        }
    }

    @Test
    void mixedRanksArePaddedToTheLargest() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(9);
            List<GroupedHook.Group> mixed = List.of(new GroupedHook.Group(5, Factors.random(manager, 4)),
                    new GroupedHook.Group(2, null), new GroupedHook.Group(3, Factors.random(manager, 2)),
                    new GroupedHook.Group(6, Factors.random(manager, 4)));
            assertRowsEqualAlone(manager, mixed, new Shape(16, 1, IN), GroupedHook.Path.GATHERED);
        }
    }

    @Test
    void twoAdaptersOrTwoDimensionalInputsKeepTheMaskedPath() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(8);
            List<GroupedHook.Group> two = List.of(new GroupedHook.Group(5, Factors.random(manager, 4)),
                    new GroupedHook.Group(3, null), new GroupedHook.Group(8, Factors.random(manager, 4)));
            assertRowsEqualAlone(manager, two, new Shape(16, 3, IN), GroupedHook.Path.MASKED);
            List<GroupedHook.Group> three = List.of(new GroupedHook.Group(5, Factors.random(manager, 4)),
                    new GroupedHook.Group(3, Factors.random(manager, 4)), new GroupedHook.Group(8, Factors.random(manager, 4)));
            assertRowsEqualAlone(manager, three, new Shape(16, IN), GroupedHook.Path.MASKED);
        }
    }

    @Test
    void aLaterBatchSlicesTheRowsItSharesWithEarlierBatchesAndStacksOnlyItsNewOnes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(11);
            List<Factors> adapters = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                adapters.add(Factors.random(manager, 4));
            }
            // the last decode step: rows a, b, b, c, base; the last prefill: rows d, e, f
            List<GroupedHook.Group> decoding = List.of(new GroupedHook.Group(1, adapters.get(0)),
                    new GroupedHook.Group(2, adapters.get(1)), new GroupedHook.Group(1, adapters.get(2)),
                    new GroupedHook.Group(1, null));
            List<GroupedHook.Group> prefilled = List.of(new GroupedHook.Group(1, adapters.get(3)),
                    new GroupedHook.Group(1, adapters.get(4)), new GroupedHook.Group(1, adapters.get(5)));
            // a left, d and e joined, f ended at once, g is new: rows b, b, c, d, e, g, base
            List<GroupedHook.Group> next = List.of(new GroupedHook.Group(2, adapters.get(1)),
                    new GroupedHook.Group(1, adapters.get(2)), new GroupedHook.Group(1, adapters.get(3)),
                    new GroupedHook.Group(1, adapters.get(4)), new GroupedHook.Group(1, adapters.get(6)),
                    new GroupedHook.Group(1, null));
            GroupedHook decode = new GroupedHook(decoding);
            GroupedHook prefill = new GroupedHook(prefilled);
            assertEachGroupAlone(manager, decode, decoding, new Shape(5, 1, IN));
            assertEachGroupAlone(manager, prefill, prefilled, new Shape(3, 4, IN));
            try (GroupedHook hook = new GroupedHook(next, List.of(decode, prefill))) {
                assertEachGroupAlone(manager, hook, next, new Shape(7, 1, IN));
                decode.close(); // the earlier hooks' arrays go; the slices taken from them stay
                prefill.close();
                assertEachGroupAlone(manager, hook, next, new Shape(7, 1, IN));
                assertThat(hook.path("m")).isEqualTo(GroupedHook.Path.GATHERED);
                assertThat(hook.stackedRows("m")).as("only g's row is stacked from its factors").isEqualTo(1);
            }
            try (GroupedHook alone = new GroupedHook(next)) {
                assertEachGroupAlone(manager, alone, next, new Shape(7, 1, IN));
                assertThat(alone.stackedRows("m")).as("without earlier hooks every row is stacked").isEqualTo(7);
            }
        }
    }

    /** A test hook that wraps {@link Factors} and offers one more form of them. */
    private interface Wrapping extends LowRankHook {
        Factors factors();

        @Override
        default NDArray[] lowRank(String module) {
            return factors().lowRank(module);
        }
    }

    /** {@link Factors} that also serve module "m" through a merged weight {@code W + left·right}, built once. */
    private record Merging(Factors factors, Map<LinearLayer, NDArray> merged) implements Wrapping {
        static Merging random(NDManager manager, long rank) {
            return new Merging(Factors.random(manager, rank), new HashMap<>());
        }

        @Override
        public NDArray mergedRow(LinearLayer layer) {
            return merged.computeIfAbsent(layer, l -> l.weight().add(factors.left().matMul(factors.right()))
                    .transpose().expandDims(0)); // [1, in, out]
        }
    }

    /** A float32 base layer "m", {@code [OUT, IN]} with a bias. */
    private static LinearLayer baseLayer(NDManager manager) {
        return new LinearLayer("m", manager.randomNormal(0, 0.5f, new Shape(OUT, IN), DataType.FLOAT32),
                manager.randomNormal(0, 0.5f, new Shape(OUT), DataType.FLOAT32));
    }

    /** One {@link GroupedHook#output} call on random inputs equals each group's base output plus its delta alone. */
    private static void assertOutputsEqualAlone(NDManager manager, GroupedHook hook, List<GroupedHook.Group> groups,
            LinearLayer layer, Shape inputShape) {
        assertOutputsEqualAlone(hook, groups, layer, manager.randomNormal(0, 1, inputShape, DataType.FLOAT32));
    }

    /** @param input {@code [B, T, in]} */
    private static void assertOutputsEqualAlone(GroupedHook hook, List<GroupedHook.Group> groups, LinearLayer layer,
            NDArray input) {
        NDArray batched = hook.output(layer, input);                                // [B, T, out]
        long from = 0;
        for (GroupedHook.Group group : groups) {
            NDIndex own = NDIndex.sliceAxis(0, from, from + group.rows());
            NDArray rows = input.get(own);                                          // [b, T, in]
            NDArray base = layer.baseOutput(rows);                                  // [b, T, out]
            float[] want = (group.hook() == null ? base : group.hook().apply("m", rows, base)).toFloatArray();
            float[] got = batched.get(own).toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertThat(Math.abs(got[i] - want[i])).as("rows from %d, element %d", from, i).isLessThan(1e-5f);
            }
            from += group.rows();
        }
    }

    @Test
    void aSmallModuleThatEveryAdapterMergesIsOneProductOverEachRowsOwnWeightAndBareBaseRowsGetTheBaseWeight() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(13);
            LinearLayer layer = baseLayer(manager);
            List<GroupedHook.Group> groups = List.of(new GroupedHook.Group(2, null),
                    new GroupedHook.Group(3, Merging.random(manager, 4)), new GroupedHook.Group(2, Merging.random(manager, 2)),
                    new GroupedHook.Group(4, Merging.random(manager, 8)), new GroupedHook.Group(1, null));
            try (GroupedHook hook = new GroupedHook(groups)) {
                for (int call = 0; call < 2; call++) { // decode-like and prefill-like inputs; the second call reuses the stack
                    assertOutputsEqualAlone(manager, hook, groups, layer, new Shape(12, call == 0 ? 1 : 3, IN));
                }
                assertThat(hook.path("m")).isEqualTo(GroupedHook.Path.MERGED);
                assertThat(hook.stackedRows("m")).isEqualTo(12);
            }
            List<GroupedHook.Group> oneFactored = List.of(new GroupedHook.Group(3, Merging.random(manager, 4)),
                    new GroupedHook.Group(2, Factors.random(manager, 4)), new GroupedHook.Group(2, Merging.random(manager, 4)),
                    new GroupedHook.Group(1, null));
            try (GroupedHook hook = new GroupedHook(oneFactored)) {
                assertOutputsEqualAlone(manager, hook, oneFactored, layer, new Shape(8, 2, IN));
                assertThat(hook.path("m")).as("an adapter without a merged weight keeps the shared base GEMM")
                        .isEqualTo(GroupedHook.Path.GATHERED);
            }
        }
    }

    /** {@link Factors} that also keep module "m"'s factors as Java arrays ({@link HostFactors}). */
    private record Hosting(Factors factors, HostFactors host) implements Wrapping {
        static Hosting random(NDManager manager, long rank) {
            Factors factors = Factors.random(manager, rank);
            return new Hosting(factors, HostFactors.of(factors.left(), factors.right()));
        }

        @Override
        public HostFactors hostFactors(String module) {
            return "m".equals(module) ? host : null;
        }
    }

    @Test
    void aDecodeStepOnAFloat32CpuBaseAddsEachRowsDeltaInJavaWhateverItsRankAndLeavesBareBaseRowsAlone() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(15);
            LinearLayer layer = baseLayer(manager);
            // ranks below, at and above one block of lanes (12: two blocks, the second half padding)
            List<GroupedHook.Group> groups = List.of(new GroupedHook.Group(2, null),
                    new GroupedHook.Group(3, Hosting.random(manager, 4)), new GroupedHook.Group(1, Hosting.random(manager, 8)),
                    new GroupedHook.Group(2, Hosting.random(manager, 12)), new GroupedHook.Group(1, null),
                    new GroupedHook.Group(3, Hosting.random(manager, 1)));
            try (NoGrad ignored = NoGrad.enter(); GroupedHook hook = new GroupedHook(groups)) {
                assertOutputsEqualAlone(manager, hook, groups, layer, new Shape(12, 1, IN));
                assertThat(hook.path("m")).isEqualTo(GroupedHook.Path.HOST);
                // a transposed view: not contiguous, so read through a copy
                assertOutputsEqualAlone(hook, groups, layer,
                        manager.randomNormal(0, 1, new Shape(IN, 1, 12), DataType.FLOAT32).transpose(2, 1, 0));
            }
            try (NoGrad ignored = NoGrad.enter(); GroupedHook hook = new GroupedHook(groups)) {
                assertOutputsEqualAlone(manager, hook, groups, layer, new Shape(12, 3, IN));
                assertThat(hook.path("m")).as("a prefill's rows take the batched products").isEqualTo(GroupedHook.Path.GATHERED);
            }
            List<GroupedHook.Group> few = groups.subList(1, 4); // 6 rows
            try (NoGrad ignored = NoGrad.enter(); GroupedHook hook = new GroupedHook(few)) {
                assertOutputsEqualAlone(manager, hook, few, layer, new Shape(6, 1, IN));
                assertThat(hook.path("m")).as("a step of few rows keeps libtorch's products (ΣK 24 ≤ 2·12: masked)")
                        .isEqualTo(GroupedHook.Path.MASKED);
            }
            try (GradientCollector recording = Engine.getInstance().newGradientCollector();
                 GroupedHook hook = new GroupedHook(groups)) {
                assertOutputsEqualAlone(manager, hook, groups, layer, new Shape(12, 1, IN));
                assertThat(hook.path("m")).as("writes under autograd would bypass it").isEqualTo(GroupedHook.Path.GATHERED);
            }
        }
    }

    @Test
    void aLaterBatchSlicesTheMergedRowsItSharesWithEarlierBatchesAndStacksOnlyItsNewOnes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(14);
            LinearLayer layer = baseLayer(manager);
            List<Merging> adapters = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                adapters.add(Merging.random(manager, 4));
            }
            // the last decode step: rows a, b, base; the last prefill: rows c, d; next: b, base, c, e, d
            List<GroupedHook.Group> decoding = List.of(new GroupedHook.Group(1, adapters.get(0)),
                    new GroupedHook.Group(1, adapters.get(1)), new GroupedHook.Group(1, null));
            List<GroupedHook.Group> prefilled = List.of(new GroupedHook.Group(1, adapters.get(2)),
                    new GroupedHook.Group(1, adapters.get(3)));
            List<GroupedHook.Group> next = List.of(new GroupedHook.Group(1, adapters.get(1)),
                    new GroupedHook.Group(1, null), new GroupedHook.Group(1, adapters.get(2)),
                    new GroupedHook.Group(1, adapters.get(4)), new GroupedHook.Group(1, adapters.get(3)));
            GroupedHook decode = new GroupedHook(decoding);
            GroupedHook prefill = new GroupedHook(prefilled);
            assertOutputsEqualAlone(manager, decode, decoding, layer, new Shape(3, 1, IN));
            assertOutputsEqualAlone(manager, prefill, prefilled, layer, new Shape(2, 4, IN));
            try (GroupedHook hook = new GroupedHook(next, List.of(decode, prefill))) {
                assertOutputsEqualAlone(manager, hook, next, layer, new Shape(5, 1, IN));
                decode.close(); // the earlier hooks' stacks go; the slices taken from them stay
                prefill.close();
                assertOutputsEqualAlone(manager, hook, next, layer, new Shape(5, 1, IN));
                assertThat(hook.path("m")).isEqualTo(GroupedHook.Path.MERGED);
                assertThat(hook.stackedRows("m")).as("b and the base row, c, and d are slices; only e is stacked")
                        .isEqualTo(1);
            }
        }
    }

    /** {@code output = base + x·rightᵀ·leftᵀ} on each module it has factors for. */
    private record Modules(Map<String, NDArray[]> factors) implements LowRankHook {
        static Modules random(NDManager manager, Map<String, Long> outs, long rank) {
            Map<String, NDArray[]> factors = new HashMap<>();
            outs.forEach((module, out) -> factors.put(module, new NDArray[] {
                manager.randomNormal(0, 0.3f, new Shape(out, rank), DataType.FLOAT32),   // [out, K]
                manager.randomNormal(0, 0.3f, new Shape(rank, IN), DataType.FLOAT32)})); // [K, in]
            return new Modules(factors);
        }

        @Override
        public NDArray[] lowRank(String module) {
            return factors.get(module);
        }
    }

    @Test
    void modulesCalledOnOneInputGetTheirDeltasFromOneProductOnceAPassHasShownThem() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(12);
            Map<String, Long> outs = Map.of("q", 7L, "k", 5L, "o", 7L);
            List<GroupedHook.Group> groups = new ArrayList<>();
            for (int g = 0; g < 4; g++) {
                groups.add(new GroupedHook.Group(g == 1 ? 2 : 1, Modules.random(manager, outs, 4)));
            }
            groups.add(new GroupedHook.Group(1, null));
            try (GroupedHook hook = new GroupedHook(groups)) {
                for (int pass = 0; pass < 3; pass++) {
                    assertSiblingPassEqualsAlone(manager, hook, groups, outs, "pass " + pass);
                }
                assertThat(hook.fusedWith("q")).isEqualTo(List.of("q", "k"));
                assertThat(hook.fusedWith("o")).isEmpty();
            }
        }
    }

    /**
     * A later batch takes the siblings' side-by-side stacks of the rows it shares with an earlier one as slices (a
     * decode batch after its prefill builds nothing), and builds only its new rows'; every group still gets its own
     * deltas, after the earlier hook is closed too.
     */
    @Test
    void aLaterBatchSlicesTheSiblingsStacksOfTheRowsItSharesAndBuildsOnlyItsNewOnes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(13);
            Map<String, Long> outs = Map.of("q", 7L, "k", 5L, "o", 7L);
            List<Modules> adapters = new ArrayList<>();
            for (int a = 0; a < 5; a++) {
                adapters.add(Modules.random(manager, outs, 4));
            }
            List<GroupedHook.Group> first = List.of(new GroupedHook.Group(1, adapters.get(0)),
                    new GroupedHook.Group(2, adapters.get(1)), new GroupedHook.Group(1, adapters.get(2)),
                    new GroupedHook.Group(1, adapters.get(3)));
            List<GroupedHook.Group> same = List.of(new GroupedHook.Group(2, adapters.get(1)),
                    new GroupedHook.Group(1, adapters.get(2)), new GroupedHook.Group(1, adapters.get(3)));
            List<GroupedHook.Group> joined = List.of(new GroupedHook.Group(2, adapters.get(1)),
                    new GroupedHook.Group(1, adapters.get(2)), new GroupedHook.Group(1, adapters.get(3)),
                    new GroupedHook.Group(1, adapters.get(4)), new GroupedHook.Group(1, null));
            GroupedHook earlier = new GroupedHook(first);
            for (int pass = 0; pass < 3; pass++) { // passes show the siblings, then their stacks are built
                assertSiblingPassEqualsAlone(manager, earlier, first, outs, "earlier pass " + pass);
            }
            assertThat(earlier.stackedSiblingRows("q")).isEqualTo(5);
            try (GroupedHook sliced = new GroupedHook(same, List.of(earlier));
                 GroupedHook grown = new GroupedHook(joined, List.of(earlier))) {
                assertSiblingPassEqualsAlone(manager, sliced, same, outs, "rows a left");
                assertSiblingPassEqualsAlone(manager, grown, joined, outs, "rows e and base joined");
                earlier.close(); // its arrays go; the slices taken from them stay
                assertSiblingPassEqualsAlone(manager, sliced, same, outs, "after the earlier hook closed");
                assertSiblingPassEqualsAlone(manager, grown, joined, outs, "after the earlier hook closed");
                assertThat(sliced.fusedWith("q")).isEqualTo(List.of("q", "k"));
                assertThat(sliced.stackedSiblingRows("q")).as("every row a slice").isZero();
                assertThat(grown.stackedSiblingRows("q")).as("only the new rows built").isEqualTo(2);
            }
        }
    }

    /**
     * One pass as a block calls them (q and k on one input, o on another): each group's rows equal its own hook's
     * output alone within 1e-5.
     */
    private static void assertSiblingPassEqualsAlone(NDManager manager, GroupedHook hook, List<GroupedHook.Group> groups,
            Map<String, Long> outs, String label) {
        int batch = groups.stream().mapToInt(GroupedHook.Group::rows).sum();
        NDArray x = manager.randomNormal(0, 1, new Shape(batch, 2, IN), DataType.FLOAT32); // [B, T, in]
        NDArray y = manager.randomNormal(0, 1, new Shape(batch, 2, IN), DataType.FLOAT32); // [B, T, in]
        for (String module : List.of("q", "k", "o")) {
            NDArray input = module.equals("o") ? y : x;
            NDArray base = manager.randomNormal(0, 1, new Shape(batch, 2, outs.get(module)), DataType.FLOAT32);
            NDArray batched = hook.apply(module, input, base.duplicate()); // [B, T, out]
            long from = 0;
            for (GroupedHook.Group group : groups) {
                NDIndex own = NDIndex.sliceAxis(0, from, from + group.rows());
                float[] want = (group.hook() == null ? base.get(own)
                        : group.hook().apply(module, input.get(own), base.get(own).duplicate())).toFloatArray();
                float[] got = batched.get(own).toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertThat(Math.abs(got[i] - want[i])).as("%s, %s, rows from %d", label, module, from)
                            .isLessThan(1e-5f);
                }
                from += group.rows();
            }
        }
    }

    /** Two calls (the second reuses what the first built) each equal every group's hook on its rows alone. */
    private static void assertRowsEqualAlone(NDManager manager, List<GroupedHook.Group> groups, Shape inputShape,
            GroupedHook.Path expected) {
        try (GroupedHook hook = new GroupedHook(groups)) {
            for (int call = 0; call < 2; call++) {
                assertEachGroupAlone(manager, hook, groups, inputShape);
                assertThat(hook.path("m")).isEqualTo(expected);
            }
        }
    }

    /** One call on random inputs equals every group's hook on its rows alone within 1e-5. */
    private static void assertEachGroupAlone(NDManager manager, GroupedHook hook, List<GroupedHook.Group> groups,
            Shape inputShape) {
        NDArray input = manager.randomNormal(0, 1, inputShape, DataType.FLOAT32);            // [B, (T,) in]
        NDArray base = manager.randomNormal(0, 1, inputShape.slice(0, inputShape.dimension() - 1).add(OUT),
                DataType.FLOAT32);                                                           // [B, (T,) out]
        NDArray batched = hook.apply("m", input, base.duplicate());                          // [B, (T,) out]
        long from = 0;
        for (GroupedHook.Group group : groups) {
            NDIndex own = NDIndex.sliceAxis(0, from, from + group.rows());
            NDArray alone = group.hook() == null ? base.get(own)
                    : group.hook().apply("m", input.get(own), base.get(own).duplicate());   // [b, (T,) out]
            float[] want = alone.toFloatArray();
            float[] got = batched.get(own).toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertThat(Math.abs(got[i] - want[i])).as("rows from %d, element %d", from, i).isLessThan(1e-5f);
            }
            from += group.rows();
        }
        assertThat(hook.apply("other", input, base)).as("a module no adapter has").isSameAs(base);
    }
}
