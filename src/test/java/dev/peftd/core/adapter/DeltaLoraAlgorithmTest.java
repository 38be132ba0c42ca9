package dev.peftd.core.adapter;

import static dev.peftd.core.adapter.RandomLinears.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.training.GradientCollector;
import dev.peftd.core.adapter.deltalora.DeltaLoraAdapter;
import dev.peftd.core.adapter.lora.LoraLayer;
import dev.peftd.core.model.Linear;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Delta-LoRA's no-write form against a direct implementation of the paper's Algorithm 1, which keeps an explicit fp32
 * {@code W} and applies {@code W ← W + λ·s·(A^{(t+1)}B^{(t+1)} − A^{(t)}B^{(t)})} after every step {@code t > K}.
 * Same init, same batches, same AdamW on A and B: the losses, the deployed weights and the base-weight movement must
 * agree within fp32 tolerance, and the shared base weight must stay untouched.
 */
class DeltaLoraAlgorithmTest {

    private static final String M = "layer";
    private static final int IN = 12;
    private static final int OUT = 10;
    private static final int R = 3;
    private static final double ALPHA = 6;
    private static final double LAMBDA = 2;
    private static final int K = 3;
    private static final int STEPS = 12;

    @Test
    void noWriteFormFollowsAlgorithmOne() {
        try (NDManager m = NDManager.newBaseManager()) {
            Random rnd = new Random(1);
            NDArray w0 = RandomLinears.random(m, rnd, new Shape(OUT, IN), 0.5);
            Map<String, Linear> model = new LinkedHashMap<>();
            model.put(M, new RandomLinears.Layer(M, w0, null));
            NDArray w0Copy = w0.duplicate();
            List<NDArray[]> batches = new ArrayList<>();
            for (int i = 0; i < STEPS; i++) {
                batches.add(new NDArray[] {RandomLinears.random(m, rnd, new Shape(8, IN), 1),
                        RandomLinears.random(m, rnd, new Shape(8, OUT), 1)});
            }
            DeltaLoraConfig config = new DeltaLoraConfig(LoraConfig.of(R, ALPHA, TargetModules.names(List.of(M))),
                    LAMBDA, K);
            double s = ALPHA / R;
            try (DeltaLoraAdapter adapter = DeltaLoraAdapter.initialize(config, model, 42)) {
                LoraLayer layer = adapter.loraLayer(M);
                // Algorithm 1's own state: explicit W, A, B from the same init
                NDArray w = w0.duplicate();
                NDArray a = layer.a().duplicate();
                NDArray b = layer.b().duplicate();
                a.setRequiresGradient(true);
                b.setRequiresGradient(true);
                NDArray sNd = m.create((float) s);
                AdamW oursOpt = new AdamW(List.of(layer.a(), layer.b()));
                AdamW refOpt = new AdamW(List.of(a, b));
                for (int t = 0; t < STEPS; t++) {
                    NDArray x = batches.get(t)[0];
                    NDArray y = batches.get(t)[1];
                    float ours;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray pred = adapter.apply(M, x, x.matMul(w0.transpose()));
                        NDArray loss = pred.sub(y).square().mean();
                        gc.backward(loss);
                        ours = loss.getFloat();
                    }
                    oursOpt.step();
                    adapter.afterOptimizerStep(t + 1);

                    float reference;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray pred = x.matMul(w.transpose()).add(x.matMul(a.transpose()).matMul(b.transpose())
                                .mul(sNd));
                        NDArray loss = pred.sub(y).square().mean();
                        gc.backward(loss);
                        reference = loss.getFloat();
                    }
                    NDArray before = b.matMul(a);
                    refOpt.step();
                    if (t > K) {
                        w.addi(b.matMul(a).sub(before).mul(LAMBDA * s));
                    }
                    assertThat(ours).as("loss at step %d", t).isCloseTo(reference, org.assertj.core.data.Offset.offset(
                            2e-5f * Math.max(1, Math.abs(reference))));
                }
                NDArray deployedRef = w.add(b.matMul(a).mul(s));
                NDArray deployedOurs = w0.add(adapter.deltaWeight(M));
                assertThat(maxAbsDiff(deployedOurs, deployedRef)).isLessThan(1e-5f);
                try (LowRank shift = adapter.baseWeightShift(M)) {
                    NDArray moved = shift.product();
                    assertThat(maxAbsDiff(moved, w.sub(w0))).isLessThan(1e-5f);
                    assertThat(moved.abs().max().getFloat()).isGreaterThan(1e-3f); // W really moved
                }
                assertThat(maxAbsDiff(w0, w0Copy)).isZero(); // the shared base was never written
                assertThat(adapter.deltaFactors(M).innerDim()).isEqualTo(2 * R);
            }
        }
    }

    /** torch.optim.AdamW semantics (lr 0.05, wd 0.01, eps outside the sqrt), outside the gradient collector. */
    static final class AdamW {
        private final List<NDArray> params;
        private final List<NDArray> m1 = new ArrayList<>();
        private final List<NDArray> m2 = new ArrayList<>();
        private int t;

        AdamW(List<NDArray> params) {
            this.params = params;
            for (NDArray p : params) {
                m1.add(p.zerosLike());
                m2.add(p.zerosLike());
            }
        }

        void step() {
            t++;
            double lr = 0.05;
            double wd = 0.01;
            double b1 = 0.9;
            double b2 = 0.999;
            double bc1 = 1 - Math.pow(b1, t);
            double bc2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray g = p.getGradient();
                p.muli(1 - lr * wd);
                m1.get(i).muli(b1).addi(g.mul(1 - b1));
                m2.get(i).muli(b2).addi(g.square().mul(1 - b2));
                NDArray denom = m2.get(i).sqrt().div(Math.sqrt(bc2)).add(1e-8);
                p.subi(m1.get(i).div(denom).mul(lr / bc1));
                JniUtils.zeroGrad((PtNDArray) p);
                g.close();
            }
        }
    }
}
