package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.LowRank;
import dev.peftd.core.adapter.deltalora.DeltaLoraAdapter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.data.Batch;
import dev.peftd.core.train.data.TokenizedExample;
import dev.peftd.core.train.optim.LrSchedule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Delta-LoRA trained by {@link TrainingRun} equals a direct implementation of the paper's Algorithm 1 (Zi et al.,
 * methods.md §1.4) that updates the base weight explicitly: {@code W ← W + λ·(α/r)·(B'A' − BA)} after every step
 * {@code t > K}, with its own plain AdamW.
 *
 * <p>On a bfloat16 base W cannot take the paper's writes (a λs·ΔP step is mostly below half a bf16 ulp of W, so a bf16
 * W would barely move), so Algorithm 1's W is {@code W0 + ΔW_side} with the movement written, step by step, into a
 * dense float32 matrix on the side; the adapter's no-write form must equal it.
 */
class DeltaLoraTrainingTest {

    private static final int STEPS = 8;
    private static final int K = 2;
    private static final double LAMBDA = 2.0;
    private static final double LR = 1e-2;
    private static final double WD = 0.01;
    private static final int R = 4;
    private static final double ALPHA = 8;

    @Test
    void trainingRunEqualsAlgorithmOne() throws Exception {
        try (CausalLm adapted = ModelLoader.load(TestModels.tinyLlama());
             CausalLm direct = ModelLoader.load(TestModels.tinyLlama());
             NDManager manager = NDManager.newBaseManager()) {
            List<TokenizedExample> data = TrainingFixtures.randomExamples(adapted.config().vocabSize(), 2 * STEPS, 3);
            DeltaLoraConfig config = new DeltaLoraConfig(TrainingFixtures.lora(R, ALPHA, 0.0), LAMBDA, K);
            TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
            Map<String, float[]> initial = new LinkedHashMap<>();
            Map<String, NDArray> deployed = new LinkedHashMap<>();
            try (AbstractAdapter adapter = TrainingFixtures.adapter(adapted, config, 9)) {
                adapter.stateTensors().forEach((k, v) -> initial.put(k, v.toFloatArray()));
                TrainingConfig tc = TrainingConfig.builder().lr(LR).weightDecay(WD).schedule(LrSchedule.Kind.CONSTANT)
                        .maxGradNorm(0).steps(STEPS).batchSize(2).shuffle(false).build();
                new TrainingRun(adapted, adapter, new TrainingData(data, List.of(), 0), tc, recorder, null).run();
                for (String module : adapter.modules()) {
                    // [out, in], owned by the model's manager, so it outlives the adapter
                    deployed.put(module, adapted.linears().get(module).weight().add(adapter.deltaWeight(module)));
                }
            }

            AlgorithmOne reference = new AlgorithmOne(direct, manager, initial);
            for (int t = 0; t < STEPS; t++) {
                double loss = reference.step(t, new Batch(data.subList(2 * t, 2 * t + 2), 0));
                assertThat(recorder.steps.get(t).loss()).as("step %d", t + 1).isCloseTo(loss, within(2e-5));
            }
            // deployed weight: W_T + s·B_T·A_T, the base moved explicitly here and implicitly (no-write form) there
            for (String module : deployed.keySet()) {
                NDArray w = reference.deployedWeight(module);
                float maxDiff = w.sub(deployed.get(module)).abs().max().getFloat();
                assertThat(maxDiff).as(module).isLessThan(1e-5f);
                // and the base weight did move after K: W_T != W_0 in the direct run
                assertThat(reference.baseShift(module)).as(module).isGreaterThan(0f);
            }
        }
    }

    /**
     * bf16 base: the shift the no-write form applies ({@code λs·(P_T − P_ref)}) equals Algorithm 1's W movement
     * written every step into a float32 side matrix from the same factor trajectory, and the adapted forward equals
     * {@code half_base(x) + x·ΔW_sideᵀ + s·x·Aᵀ·Bᵀ}. (Two independent bf16 runs are not compared step by step: AdamW
     * turns bf16 noise in near-zero gradients into whole steps, 3e-3 of loss by step 3, so the trajectory is shared.)
     */
    @Test
    void onABfloat16BaseTheNoWriteFormEqualsWritingWsMovementInFloat32OnTheSide() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             NDManager manager = NDManager.newBaseManager()) {
            List<TokenizedExample> data = TrainingFixtures.randomExamples(model.config().vocabSize(), 2 * STEPS + 2, 3);
            DeltaLoraConfig config = new DeltaLoraConfig(TrainingFixtures.lora(R, ALPHA, 0.0), LAMBDA, K);
            try (DeltaLoraAdapter adapter = (DeltaLoraAdapter) TrainingFixtures.adapter(model, config, 9)) {
                Map<String, NDArray> side = new LinkedHashMap<>();    // W_t − W0, float32 [out, in]
                Map<String, NDArray> product = new LinkedHashMap<>(); // P_t = B_t·A_t, [out, in]
                for (String module : adapter.modules()) {
                    side.put(module, manager.zeros(model.linears().get(module).weightShape()));
                    product.put(module, product(adapter, module, manager));
                }
                int[] t = {0};
                TrainingListener algorithmOne = report -> {           // after optimizer step t (0-based)
                    for (String module : adapter.modules()) {
                        NDArray after = product(adapter, module, manager);  // P_{t+1}
                        if (t[0] > K) {
                            side.get(module).addi(after.sub(product.get(module)).muli(LAMBDA * ALPHA / R));
                        }
                        product.put(module, after);
                    }
                    t[0]++;
                };
                TrainingConfig tc = TrainingConfig.builder().lr(LR).weightDecay(WD).schedule(LrSchedule.Kind.CONSTANT)
                        .maxGradNorm(0).steps(STEPS).batchSize(2).shuffle(false).build();
                new TrainingRun(model, adapter, new TrainingData(data.subList(0, 2 * STEPS), List.of(), 0), tc,
                        algorithmOne, null).run();

                float worstShift = 0;
                for (String module : adapter.modules()) {
                    NDArray written = side.get(module);
                    float moved = written.abs().max().getFloat();
                    try (LowRank shift = adapter.baseWeightShift(module); NDArray noWrite = shift.product()) {
                        float diff = noWrite.sub(written).abs().max().getFloat();
                        worstShift = Math.max(worstShift, diff / moved);
                        assertThat(moved).as("%s moved", module).isGreaterThan(0f);
                        assertThat(diff).as("%s: W_T − W0", module).isLessThan(moved * 1e-5f);
                    }
                }

                NDArray ids = new Batch(data.subList(2 * STEPS, 2 * STEPS + 2), 0).inputIds(manager);
                adapter.setTraining(false);
                float[] ours = model.forward(ids, null, adapter).toFloatArray();               // [B, T, vocab]
                NDArray scale = manager.create((float) (ALPHA / R));
                Map<String, NDArray> state = adapter.stateTensors();
                float[] reference = model.forward(ids, null, (module, x, y) -> {
                    if (!adapter.adapts(module)) {
                        return y;
                    }
                    NDArray low = Linear.linear(Linear.linear(x, state.get(PeftKeys.loraA(module)))
                            .singletonOrThrow(), state.get(PeftKeys.loraB(module))).singletonOrThrow();
                    return y.add(low.mul(scale)).add(Linear.linear(x, side.get(module)).singletonOrThrow());
                }).toFloatArray();
                double sum = 0;
                double max = 0;
                for (int i = 0; i < ours.length; i++) {
                    double d = Math.abs(ours[i] - reference[i]);
                    sum += d;
                    max = Math.max(max, d);
                }
                System.out.printf("Delta-LoRA bf16: max |Δshift|/max|shift| %.3g; logits mean |Δ| %.3g, max |Δ| %.3g%n",
                        worstShift, sum / ours.length, max);
                assertThat(sum / ours.length).as("mean |Δlogit|").isLessThan(1e-3);
                assertThat(max).as("max |Δlogit|").isLessThan(2e-2);
            }
        }
    }

    /** {@code B·A} of a module from the adapter's state, {@code [out, in]}. */
    private static NDArray product(AbstractAdapter adapter, String module, NDManager manager) {
        Map<String, NDArray> state = adapter.stateTensors();
        try (NDArray b = state.get(PeftKeys.loraB(module)).stopGradient();
             NDArray a = state.get(PeftKeys.loraA(module)).stopGradient()) {
            NDArray p = b.matMul(a);
            NDScope.unregister(p);
            p.attach(manager);
            return p;
        }
    }

    /** Algorithm 1 written out: LoRA hook, loss, backward, AdamW on A and B, explicit W update. */
    private static final class AlgorithmOne {
        private final CausalLm model;
        private final NDManager manager;
        private final Map<String, NDArray[]> factors = new LinkedHashMap<>();   // module -> {A [r,in], B [out,r]}
        private final Map<String, NDArray[]> moments = new LinkedHashMap<>();   // module -> {mA, vA, mB, vB}
        private final Map<String, NDArray> originalW = new LinkedHashMap<>();
        private final NDArray scale;

        AlgorithmOne(CausalLm model, NDManager manager, Map<String, float[]> initial) {
            this.model = model;
            this.manager = manager;
            this.scale = manager.create((float) (ALPHA / R));
            for (String key : initial.keySet()) {
                if (!key.endsWith(PeftKeys.LORA_A_SUFFIX)) {
                    continue;
                }
                String module = PeftKeys.moduleOf(key, PeftKeys.LORA_A_SUFFIX);
                NDArray w = model.linears().get(module).weight();
                NDArray a = manager.create(initial.get(key), new ai.djl.ndarray.types.Shape(R, w.getShape().get(1)));
                NDArray b = manager.create(initial.get(PeftKeys.loraB(module)), new ai.djl.ndarray.types.Shape(w.getShape().get(0), R));
                a.setRequiresGradient(true);
                b.setRequiresGradient(true);
                factors.put(module, new NDArray[] {a, b});
                moments.put(module, new NDArray[] {manager.zeros(a.getShape()), manager.zeros(a.getShape()), manager.zeros(b.getShape()), manager.zeros(b.getShape())});
                originalW.put(module, w.duplicate());
            }
        }

        /** The LoRA branch {@code y = base + s·(x·Aᵀ)·Bᵀ} on the targeted modules. */
        private NDArray hook(String module, NDArray x, NDArray base) {
            NDArray[] f = factors.get(module);
            if (f == null) {
                return base;
            }
            NDArray low = Linear.linear(Linear.linear(x, f[0]).singletonOrThrow(), f[1]).singletonOrThrow();
            return base.add(low.mul(scale));
        }

        double step(int t, Batch batch) {
            try (NDScope ignored = new NDScope()) {
                JniUtils.setGradMode(true);
                NDArray logits = model.forward(batch.inputIds(manager), null, this::hook);
                NDArray loss = CausalLmLoss.summedNll(logits, batch.targets(manager), batch.weights(manager))
                        .div(manager.create((float) batch.lossTokens()));
                JniUtils.backward((PtNDArray) loss, (PtNDArray) manager.ones(loss.getShape()), false, false);
                JniUtils.setGradMode(false);
                for (Map.Entry<String, NDArray[]> e : factors.entrySet()) {
                    NDArray a = e.getValue()[0];
                    NDArray b = e.getValue()[1];
                    NDArray before = b.matMul(a);                                  // P_t [out, in]
                    NDArray[] m = moments.get(e.getKey());
                    adamW(a, m[0], m[1], t + 1);
                    adamW(b, m[2], m[3], t + 1);
                    if (t > K) {
                        NDArray after = b.matMul(a);                               // P_{t+1}
                        model.linears().get(e.getKey()).weight().addi(after.sub(before).mul(LAMBDA * ALPHA / R));
                    }
                }
                return loss.getFloat();
            }
        }

        /** torch.optim.AdamW, one tensor: decay, moments, bias-corrected step. */
        private static void adamW(NDArray p, NDArray m, NDArray v, int step) {
            NDArray g = JniUtils.getGradient((PtNDArray) p);
            p.muli(1 - LR * WD);
            m.muli(0.9).addi(g.mul(0.1));
            v.muli(0.999).addi(g.square().mul(0.001));
            double bc1 = 1 - Math.pow(0.9, step);
            double bc2 = 1 - Math.pow(0.999, step);
            p.subi(m.div(v.sqrt().div(Math.sqrt(bc2)).add(1e-8)).mul(LR / bc1));
            JniUtils.zeroGrad((PtNDArray) p);
        }

        NDArray deployedWeight(String module) {
            NDArray[] f = factors.get(module);
            return model.linears().get(module).weight().add(f[1].matMul(f[0]).mul(ALPHA / R));
        }

        float baseShift(String module) {
            return model.linears().get(module).weight().sub(originalW.get(module)).abs().max().getFloat();
        }
    }
}
