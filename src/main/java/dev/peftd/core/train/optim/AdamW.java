package dev.peftd.core.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.TrainableTensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with the update of {@code torch.optim.AdamW} (single-tensor CPU path): decoupled weight decay
 * {@code p ← p·(1 − lr·wd)}, moments {@code m ← lerp(m, g, 1−β1)}, {@code v ← β2·v + (1−β2)·g²}, bias correction, and
 * eps added <em>outside</em> the square root: {@code p ← p − (lr/bc1)·m / (√v/√bc2 + eps)}.
 *
 * <p>It must run with grad mode off on the calling thread (the training loop guarantees it): it updates leaves in
 * place and passes Java numbers to ops, which is only safe when nothing records a graph (djl-notes pitfall 1).
 * Each tensor's gradient is consumed and zeroed ({@code grad.zero_()}), so the next step starts from zero.
 */
public final class AdamW implements AutoCloseable {

    /** Coefficients shared by all groups; torch's defaults are (0.9, 0.999, 1e-8). */
    public record Betas(double beta1, double beta2, double eps) {
        public static final Betas TORCH_DEFAULT = new Betas(0.9, 0.999, 1e-8);

        public Betas {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("betas: each must lie in [0, 1), got (" + beta1 + ", " + beta2 + ")");
            }
            if (!(eps >= 0)) {
                throw new IllegalArgumentException("eps: must be >= 0, got " + eps);
            }
        }
    }

    private final List<ParamGroup> groups;
    private final Betas betas;
    private final NDManager stateManager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private int completedSteps;

    /**
     * Tensors that carry a {@link TrainableTensor#frozenA()} (LoRA-FA with projection) get PEFT's LoRA-FA gradient
     * projection before the Adam update.
     */
    public AdamW(List<ParamGroup> groups, Betas betas) {
        this.groups = List.copyOf(groups);
        this.betas = betas;
        this.stateManager = NDManager.newBaseManager();
        for (ParamGroup group : this.groups) {
            for (TrainableTensor t : group.tensors()) {
                if (expAvg.containsKey(t.name())) {
                    throw new IllegalArgumentException("tensor '" + t.name() + "' is in more than one parameter group");
                }
                NDArray p = t.value();
                NDArray m = stateManager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice());
                NDArray v = stateManager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice());
                NDScope.unregister(m, v); // state lives as long as the optimizer, not the caller's step scope
                expAvg.put(t.name(), m);
                expAvgSq.put(t.name(), v);
            }
        }
    }

    public List<ParamGroup> groups() {
        return groups;
    }

    /** Optimizer steps taken so far (torch's {@code state["step"]}, shared by all tensors here). */
    public int completedSteps() {
        return completedSteps;
    }

    /** Every trainable tensor's current gradient, for clipping; callers close nothing (a step scope owns them). */
    public List<NDArray> gradients() {
        return groups.stream().flatMap(g -> g.tensors().stream())
                .map(t -> (NDArray) JniUtils.getGradient((PtNDArray) t.value()))
                .filter(g -> g != null)
                .toList();
    }

    /** One update of every tensor with a gradient; {@code lrMultiplier} comes from the schedule. */
    public void step(double lrMultiplier) {
        completedSteps++;
        double bc1 = 1 - Math.pow(betas.beta1(), completedSteps);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(betas.beta2(), completedSteps));
        for (ParamGroup group : groups) {
            double lr = group.lr() * lrMultiplier;
            for (TrainableTensor t : group.tensors()) {
                try (NDScope ignored = new NDScope()) {
                    update(t, lr, group.weightDecay(), bc1, bc2Sqrt);
                }
            }
        }
    }

    private void update(TrainableTensor t, double lr, double weightDecay, double bc1, double bc2Sqrt) {
        PtNDArray p = (PtNDArray) t.value();
        NDArray g = JniUtils.getGradient(p); // a new handle, closed by the caller's scope
        if (g == null) {
            return; // torch skips parameters whose .grad is None
        }
        if (t.frozenA() != null) {
            g = LoraFaProjection.project(g, t.frozenA());
        }
        NDArray m = expAvg.get(t.name());
        NDArray v = expAvgSq.get(t.name());
        if (weightDecay != 0) {
            p.muli((float) (1 - lr * weightDecay));
        }
        m.addi(g.sub(m).muli((float) (1 - betas.beta1())));        // torch: exp_avg.lerp_(grad, 1 - beta1)
        v.muli((float) betas.beta2()).addi(g.mul(g).muli((float) (1 - betas.beta2())));
        NDArray denom = v.sqrt().divi((float) bc2Sqrt).addi((float) betas.eps());
        p.subi(m.div(denom).muli((float) (lr / bc1)));
        JniUtils.zeroGrad(p);
    }

    /** Moments keyed {@code <tensor>.exp_avg} / {@code <tensor>.exp_avg_sq}, for checkpoints (live views, do not close). */
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        expAvg.forEach((name, m) -> out.put(name + ".exp_avg", m));
        expAvgSq.forEach((name, v) -> out.put(name + ".exp_avg_sq", v));
        return out;
    }

    /** Restores what {@link #stateTensors()} and {@link #completedSteps()} saved; every key must be present. */
    public void restore(Map<String, NDArray> state, int steps) {
        Map<String, NDArray> live = stateTensors();
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray saved = state.get(e.getKey());
            if (saved == null) {
                throw new IllegalArgumentException("optimizer state: key '" + e.getKey() + "' is missing");
            }
            if (!saved.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException("optimizer state: '" + e.getKey() + "' has shape " + saved.getShape()
                        + ", expected " + e.getValue().getShape());
            }
            e.getValue().set(saved.toType(DataType.FLOAT32, false).toFloatArray());
        }
        this.completedSteps = steps;
    }

    @Override
    public void close() {
        stateManager.close();
    }
}
