package dev.peftd.core.adapter;

import static dev.peftd.core.adapter.RandomLinears.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.adapter.TrainableTensor.Role;
import dev.peftd.core.adapter.lora.LoraAdapter;
import dev.peftd.core.adapter.lora.LoraLayer;
import dev.peftd.core.adapter.vera.VeraAdapter;
import dev.peftd.core.model.Linear;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The forward, ΔW, merge/unmerge/disable contract of every parametrization, on real arrays. */
class ParametrizationTest {

    private NDManager manager;
    private Map<String, Linear> linears;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        linears = RandomLinears.tinyModel(manager, 7);
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private static final String Q = "model.layers.0.self_attn.q_proj";
    private static final String DOWN = "model.layers.1.mlp.down_proj";

    static List<AdapterConfig> allMethods() {
        TargetModules t = TargetModules.allLinear();
        LoraConfig lora = LoraConfig.withPatterns(4, 8, 0, false, t, Map.of("down_proj", 2), Map.of("q_proj", 16.0));
        return List.of(lora, new LoraFaConfig(lora, true), new LoraPlusConfig(lora, 16),
                new DeltaLoraConfig(lora, 2, 1), new VeraConfig(8, 0.1, 3, true, 0, t));
    }

    @Test
    void loraForwardIsBasePlusScaledBA() {
        LoraConfig config = LoraConfig.withPatterns(4, 8, 0, false, TargetModules.allLinear(), Map.of("down_proj", 2),
                Map.of("q_proj", 16.0));
        try (AbstractAdapter adapter = Adapters.create(config, linears, 1)) {
            RandomLinears.perturb(adapter, 2, 0.3);
            LoraLayer q = ((LoraAdapter) adapter).loraLayer(Q);
            assertThat(q.a().getShape()).isEqualTo(new Shape(4, 16));
            assertThat(q.scaling()).isEqualTo(4.0);
            assertThat(((LoraAdapter) adapter).loraLayer(DOWN).a().getShape()).isEqualTo(new Shape(2, 24));
            NDArray x = RandomLinears.random(manager, new Random(3), new Shape(2, 5, 16), 1); // [B, T, in]
            NDArray base = x.matMul(linears.get(Q).weight().transpose());                     // [B, T, out]
            NDArray expected = base.add(x.matMul(q.a().transpose()).matMul(q.b().transpose()).mul(4.0));
            assertThat(maxAbsDiff(adapter.apply(Q, x, base), expected)).isLessThan(1e-5f);
            assertThat(adapter.apply("model.layers.0.self_attn.nope", x, base)).isSameAs(base);
        }
    }

    @Test
    void dropoutActsOnlyOnTheBranchAndOnlyWhileTraining() {
        LoraConfig config = LoraConfig.of(4, 8, TargetModules.names(List.of("q_proj"))).withDropout(0.5);
        try (AbstractAdapter adapter = Adapters.create(config, linears, 1)) {
            RandomLinears.perturb(adapter, 2, 0.3);
            NDArray x = RandomLinears.random(manager, new Random(3), new Shape(4, 16, 16), 1);
            NDArray base = x.matMul(linears.get(Q).weight().transpose());
            NDArray eval = adapter.apply(Q, x, base);
            LoraLayer q = ((LoraAdapter) adapter).loraLayer(Q);
            NDArray noDropout = base.add(x.matMul(q.a().transpose()).matMul(q.b().transpose()).mul(2.0));
            assertThat(maxAbsDiff(eval, noDropout)).isLessThan(1e-5f);
            adapter.setTraining(true);
            NDArray train = adapter.apply(Q, x, base);
            assertThat(maxAbsDiff(train, eval)).isGreaterThan(1e-2f);
            // Delta-LoRA never drops, even while training
            DeltaLoraConfig delta = new DeltaLoraConfig(LoraConfig.of(4, 8, TargetModules.names(List.of("q_proj"))),
                    2, 0);
            try (AbstractAdapter d = Adapters.create(delta, linears, 1)) {
                RandomLinears.perturb(d, 2, 0.3);
                NDArray before = d.apply(Q, x, base);
                d.setTraining(true);
                assertThat(maxAbsDiff(d.apply(Q, x, base), before)).isZero();
            }
        }
    }

    @Test
    void freshLoraIsANoOpAndInitIsPeftsKaimingUniform() {
        try (AbstractAdapter adapter = Adapters.create(LoraConfig.of(8, 16, TargetModules.allLinear()), linears, 5)) {
            LoraLayer down = ((LoraAdapter) adapter).loraLayer(DOWN);
            float[] a = down.a().toFloatArray();
            double bound = 1 / Math.sqrt(24);
            double max = 0;
            for (float v : a) {
                max = Math.max(max, Math.abs(v));
            }
            assertThat(max).isLessThanOrEqualTo(bound).isGreaterThan(0.8 * bound);
            try (NDArray d = adapter.deltaWeight(DOWN)) {
                assertThat(d.abs().max().getFloat()).isZero();
            }
            assertThat(adapter.trainableParameterCount()).isEqualTo(2 * (8 * (16 + 16) + 8 * (16 + 8) * 2
                    + 8 * (16 + 16) + 8 * (16 + 24) * 2 + 8 * (24 + 16)));
        }
        try (AbstractAdapter a1 = Adapters.create(LoraConfig.of(4, 8, TargetModules.allLinear()), linears, 5);
             AbstractAdapter a2 = Adapters.create(LoraConfig.of(4, 8, TargetModules.allLinear()), linears, 5)) {
            assertThat(((LoraAdapter) a1).loraLayer(Q).a().toFloatArray())
                    .containsExactly(((LoraAdapter) a2).loraLayer(Q).a().toFloatArray()); // seeded
        }
    }

    @Test
    void loraFaFreezesAAndHandsItToTheProjection() {
        LoraConfig lora = LoraConfig.of(4, 8, TargetModules.names(List.of("q_proj")));
        try (AbstractAdapter fa = Adapters.create(new LoraFaConfig(lora, true), linears, 1);
             AbstractAdapter plain = Adapters.create(new LoraFaConfig(lora, false), linears, 1)) {
            List<TrainableTensor> tensors = fa.trainableTensors();
            assertThat(tensors).extracting(TrainableTensor::role).containsOnly(Role.LORA_B);
            assertThat(tensors).hasSize(2);
            assertThat(tensors.get(0).frozenA().scaling()).isEqualTo(2.0);
            assertThat(tensors.get(0).frozenA().value().hasGradient()).isFalse();
            assertThat(plain.trainableTensors()).extracting(TrainableTensor::frozenA).containsOnlyNulls(); // no projection asked
            try (AbstractAdapter plainLora = Adapters.create(lora, linears, 1)) {
                assertThat(plainLora.trainableTensors()).extracting(TrainableTensor::frozenA).containsOnlyNulls();
            }
            assertThat(fa.trainableParameterCount()).isEqualTo(2 * 16 * 4);
            assertThat(fa.stateTensors()).hasSize(4); // A is state even though frozen
        }
    }

    @Test
    void veraForwardAndDeltaMatchTheFormula() {
        VeraConfig config = new VeraConfig(8, 0.1, 3, true, 0, TargetModules.allLinear());
        try (VeraAdapter adapter = (VeraAdapter) Adapters.create(config, linears, 0)) {
            assertThat(adapter.projectionA().getShape()).isEqualTo(new Shape(8, 24));  // max in
            assertThat(adapter.projectionB().getShape()).isEqualTo(new Shape(24, 8));  // max out (lm_head excluded)
            assertThat(adapter.lambdaD(DOWN).toFloatArray()).containsOnly(0.1f);
            RandomLinears.perturb(adapter, 4, 0.5);
            NDArray x = RandomLinears.random(manager, new Random(3), new Shape(2, 5, 24), 1);
            NDArray base = x.matMul(linears.get(DOWN).weight().transpose());
            NDArray sliceA = adapter.projectionA();            // [8, 24] = A_s for in = 24
            NDArray sliceB = adapter.projectionB().get(":16"); // [16, 8]
            NDArray expected = base.add(x.matMul(sliceA.transpose()).mul(adapter.lambdaD(DOWN))
                    .matMul(sliceB.transpose()).mul(adapter.lambdaB(DOWN)));
            assertThat(maxAbsDiff(adapter.apply(DOWN, x, base), expected)).isLessThan(1e-5f);
            NDArray dw = adapter.deltaWeight(DOWN);
            NDArray explicit = sliceB.mul(adapter.lambdaB(DOWN).expandDims(1))
                    .matMul(sliceA.mul(adapter.lambdaD(DOWN).expandDims(1)));
            assertThat(maxAbsDiff(dw, explicit)).isLessThan(1e-6f);
            assertThat(adapter.trainableParameterCount()).isEqualTo(2 * (16 + 8 + 8 + 16 + 24 + 24 + 16) + 14 * 8);
        }
    }

    @Test
    void veraSharesTheProjectionAcrossTargetsWithTheSameInput() {
        VeraConfig config = new VeraConfig(8, 0.1, 3, true, 0, TargetModules.names(List.of("q_proj", "k_proj")));
        try (VeraAdapter adapter = (VeraAdapter) Adapters.create(config, linears, 0)) {
            RandomLinears.perturb(adapter, 4, 0.5);
            NDArray x = RandomLinears.random(manager, new Random(3), new Shape(1, 3, 16), 1);
            String k = "model.layers.0.self_attn.k_proj";
            NDArray zerosQ = manager.zeros(new Shape(1, 3, 16));
            NDArray zerosK = manager.zeros(new Shape(1, 3, 8));
            NDArray viaShared = adapter.apply(k, x, zerosK);
            adapter.apply(Q, x, zerosQ); // same input object: the memo is used for q
            NDArray qShared = adapter.apply(Q, x, zerosQ);
            NDArray qFresh = adapter.apply(Q, x.duplicate(), zerosQ);
            assertThat(maxAbsDiff(qShared, qFresh)).isZero();
            try (NDArray dk = adapter.deltaWeight(k)) {
                assertThat(maxAbsDiff(viaShared, x.matMul(dk.transpose()))).isLessThan(1e-5f);
            }
        }
    }

    @Test
    void mergeEqualsUnmergedAndUnmergeRestoresForEveryMethod() {
        for (AdapterConfig config : allMethods()) {
            Map<String, Linear> model = RandomLinears.tinyModel(manager, 11); // private copy per method
            try (AbstractAdapter adapter = Adapters.create(config, model, 1)) {
                RandomLinears.perturb(adapter, 9, 0.3);
                adapter.afterOptimizerStep(1);
                adapter.afterOptimizerStep(2); // Delta-LoRA (K = 1): reference taken at step 2
                RandomLinears.perturb(adapter, 10, 0.3);
                adapter.afterOptimizerStep(3); // … and the base now follows
                NDArray x = RandomLinears.random(manager, new Random(3), new Shape(2, 4, 24), 1);
                NDArray w = model.get(DOWN).weight();
                NDArray w0 = w.duplicate();
                NDArray unmerged = adapter.apply(DOWN, x, x.matMul(w.transpose()));
                adapter.merge();
                NDArray merged = adapter.apply(DOWN, x, x.matMul(w.transpose()));
                assertThat(maxAbsDiff(merged, unmerged)).as(config.method().id()).isLessThan(2e-5f);
                assertThat(maxAbsDiff(w, w0)).as(config.method().id()).isGreaterThan(1e-3f);
                adapter.unmerge();
                assertThat(maxAbsDiff(w, w0)).as(config.method().id()).isLessThan(1e-6f);
                adapter.setEnabled(false);
                NDArray base = x.matMul(w.transpose());
                assertThat(adapter.apply(DOWN, x, base)).as(config.method().id()).isSameAs(base);
            }
        }
    }

    @Test
    void nonFiniteWeightsRefuseToMergeAndLeaveTheBaseUntouched() {
        for (AdapterConfig config : allMethods()) {
            Map<String, Linear> model = RandomLinears.tinyModel(manager, 11);
            try (AbstractAdapter adapter = Adapters.create(config, model, 1)) {
                RandomLinears.perturb(adapter, 9, 0.3);
                List<TrainableTensor> tensors = adapter.trainableTensors();
                NDArray last = tensors.get(tensors.size() - 1).value();
                float[] v = last.toFloatArray();
                v[0] = Float.NaN;
                last.set(v);
                NDArray before = model.get(Q).weight().duplicate();
                assertThatThrownBy(adapter::merge).as(config.method().id()).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("non-finite").hasMessageContaining("model.layers.1.mlp.down_proj");
                assertThat(maxAbsDiff(model.get(Q).weight(), before)).isZero();
                assertThat(adapter.isMerged()).isFalse();
            }
        }
    }

    @Test
    void stateTensorsRoundTripExactly() {
        for (AdapterConfig config : allMethods()) {
            try (AbstractAdapter a = Adapters.create(config, linears, 1);
                 AbstractAdapter b = Adapters.create(config, linears, 2)) {
                RandomLinears.perturb(a, 9, 0.3);
                a.afterOptimizerStep(2);
                RandomLinears.perturb(a, 10, 0.3);
                a.afterOptimizerStep(3);
                b.afterOptimizerStep(2);
                b.loadStateTensors(a.stateTensors());
                for (String m : a.modules()) {
                    assertThat(maxAbsDiff(a.deltaWeight(m), b.deltaWeight(m))).as(config.method().id()).isZero();
                }
            }
        }
    }
}
