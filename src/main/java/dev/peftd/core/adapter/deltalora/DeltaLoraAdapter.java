package dev.peftd.core.adapter.deltalora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LowRank;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.lora.LoraAdapter;
import dev.peftd.core.adapter.lora.LoraLayer;
import dev.peftd.core.model.Linear;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Delta-LoRA in the exact no-write form (methods.md §2.3): the paper moves the base weight by
 * {@code λ·s·(P_{t+1} − P_t)} after every step {@code t > K} ({@code P = B·A}); those updates telescope to
 * {@code W_t = W0 + λ·s·(P_t − P_ref)} with {@code P_ref = P_{K+1}}, the product after K+1 optimizer steps. So instead of
 * writing the (shared, possibly read-only) base weight, every targeted layer adds the detached low-rank offset
 * {@code λ·s·x·(P_t − P_ref)ᵀ} to its output. The trajectory equals Algorithm 1 up to fp32 rounding and the base model
 * is never mutated.
 *
 * <p>The deployed weight is {@code W_T + s·P_T = W0 + (1+λ)·s·B_T·A_T − λ·s·B_ref·A_ref}: an exact rank-2r LoRA on the
 * original base, which is what {@link #deltaWeight(String)} returns and what the PEFT export writes.
 */
public final class DeltaLoraAdapter extends LoraAdapter {

    private static final String REF_A = ".delta_ref_A";
    private static final String REF_B = ".delta_ref_B";

    private final DeltaLoraConfig delta;
    /** Per module, once taken: {@code [A_ref, B_ref]} ({@code [r, in]}, {@code [out, r]}), frozen. */
    private final Map<String, NDArray[]> reference = new LinkedHashMap<>();
    /** Per module, while the reference exists: the detached offset factors {@code [2r, in]} and {@code [out, 2r]}. */
    private final Map<String, NDArray[]> offset = new LinkedHashMap<>();

    private DeltaLoraAdapter(DeltaLoraConfig config, Map<String, Linear> targets, FactorSource source) {
        super(config, targets, source);
        this.delta = config;
    }

    /** Fresh adapter with LoRA's init (see {@link LoraAdapter#initialize}). */
    public static DeltaLoraAdapter initialize(DeltaLoraConfig config, Map<String, Linear> targets, long seed) {
        LoraAdapter init = LoraAdapter.initialize(config, targets, seed);
        try {
            DeltaLoraAdapter adapter = new DeltaLoraAdapter(config, targets, (module, shapeA, shapeB, m) ->
                    new NDArray[] {m.create(init.loraLayer(module).a().toFloatArray(), shapeA), m.zeros(shapeB)});
            if (config.startStep() < 0) {
                adapter.takeReference(); // K = −1: W follows from the first step on, P_ref = P_0 (= 0)
            }
            return adapter;
        } finally {
            init.close();
        }
    }

    /** Adapter from its state tensors (see {@link #stateTensors()}), e.g. a checkpoint. */
    public static DeltaLoraAdapter fromState(DeltaLoraConfig config, Map<String, Linear> targets,
                                             Map<String, NDArray> state) {
        DeltaLoraAdapter adapter = new DeltaLoraAdapter(config, targets, (module, shapeA, shapeB, m) -> new NDArray[] {
                copyChecked(state, PeftKeys.loraA(module), shapeA, m),
                copyChecked(state, PeftKeys.loraB(module), shapeB, m)});
        adapter.restoreReference(state);
        return adapter;
    }

    @Override
    protected double layerDropout(AdapterConfig config) {
        return 0.0; // Delta-LoRA's branch has no dropout (enforced by DeltaLoraConfig too)
    }

    public DeltaLoraConfig deltaConfig() {
        return delta;
    }

    /** Whether the base weight has started to follow the adapter (the reference product was taken). */
    public boolean hasReference() {
        return !reference.isEmpty();
    }

    @Override
    public NDArray apply(String module, NDArray input, NDArray baseOutput) {
        NDArray out = super.apply(module, input, baseOutput);
        NDArray[] off = offset.get(module);
        if (off == null || out == baseOutput) { // not adapted, disabled or merged
            return out;
        }
        NDArray down = ai.djl.nn.core.Linear.linear(input, off[0]).singletonOrThrow(); // [..., 2r]
        return out.add(ai.djl.nn.core.Linear.linear(down, off[1]).singletonOrThrow()); // [..., out]
    }

    @Override
    public void afterOptimizerStep(int completedSteps) {
        int k = delta.startStep();
        if (completedSteps == k + 1 && !hasReference()) {
            takeReference();
        } else if (completedSteps > k + 1) {
            if (!hasReference()) {
                throw new IllegalStateException("Delta-LoRA: step " + completedSteps + " is past the start step "
                        + "K+1 = " + (k + 1) + " but no reference product was taken; resume from the adapter's state "
                        + "tensors (stateTensors/loadStateTensors), not from its trainable tensors alone");
            }
            refreshOffsets();
        }
    }

    private void takeReference() {
        for (LoraLayer layer : loraLayers().values()) {
            NDArray a = keep(layer.a().duplicate());
            NDArray b = keep(layer.b().duplicate());
            a.setRequiresGradient(false);
            b.setRequiresGradient(false);
            reference.put(layer.module(), new NDArray[] {a, b});
        }
        refreshOffsets();
    }

    /** Rebuilds {@code [A_t; A_ref]} and {@code [λs·B_t, −λs·B_ref]} from the current (detached) factors. */
    private void refreshOffsets() {
        for (LoraLayer layer : loraLayers().values()) {
            NDArray[] ref = reference.get(layer.module());
            NDArray lambdaS = scalar(delta.lambda() * layer.scaling());
            try (NDArray aNow = layer.a().stopGradient(); NDArray bNow = layer.b().stopGradient();
                 NDArray bNowScaled = bNow.mul(lambdaS); NDArray bRefScaled = ref[1].mul(lambdaS);
                 NDArray bRefNeg = bRefScaled.neg()) {
                NDArray offA = keep(NDArrays.concat(new NDList(aNow, ref[0]), 0));      // [2r, in]
                NDArray offB = keep(NDArrays.concat(new NDList(bNowScaled, bRefNeg), 1)); // [out, 2r]
                NDArray[] old = offset.put(layer.module(), new NDArray[] {offA, offB});
                if (old != null) {
                    old[0].close();
                    old[1].close();
                }
            } finally {
                lambdaS.close();
            }
        }
    }

    /** Keeps an array made during a training step alive past the step's NDScope, owned by the adapter. */
    private NDArray keep(NDArray array) {
        NDScope.unregister(array);
        array.attach(manager);
        return array;
    }

    /**
     * How far the base weight itself has moved: {@code W_t − W0 = λ·s·(B_t·A_t − B_ref·A_ref)} in factored form
     * ({@code [out, 2r]}·{@code [2r, in]}); zero factors before the reference is taken.
     */
    public LowRank baseWeightShift(String module) {
        LoraLayer layer = loraLayer(module);
        NDArray[] ref = reference.get(module);
        if (ref == null) {
            return new LowRank(manager.zeros(layer.b().getShape()), manager.zeros(layer.a().getShape()));
        }
        try (NDArray ls = scalar(delta.lambda() * layer.scaling()); NDArray bScaled = layer.b().mul(ls);
             NDArray refScaled = ref[1].mul(ls); NDArray refNeg = refScaled.neg()) {
            return new LowRank(NDArrays.concat(new NDList(bScaled, refNeg), 1),
                    NDArrays.concat(new NDList(layer.a(), ref[0]), 0));
        }
    }

    /**
     * Deployed ΔW relative to the original W0: {@code [(1+λ)s·B_T, −λs·B_ref]·[A_T; A_ref]} (rank ≤ 2r) once the
     * reference exists, plain {@code s·B·A} before.
     */
    @Override
    public LowRank deltaFactors(String module) {
        LoraLayer layer = loraLayer(module);
        NDArray[] ref = reference.get(module);
        if (ref == null) {
            return layer.delta();
        }
        try (NDArray own = scalar((1 + delta.lambda()) * layer.scaling());
             NDArray ls = scalar(delta.lambda() * layer.scaling());
             NDArray bOwn = layer.b().mul(own); NDArray refScaled = ref[1].mul(ls); NDArray refNeg = refScaled.neg()) {
            return new LowRank(NDArrays.concat(new NDList(bOwn, refNeg), 1),
                    NDArrays.concat(new NDList(layer.a(), ref[0]), 0));
        }
    }

    @Override
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> state = super.stateTensors();
        reference.forEach((module, ref) -> {
            state.put(PeftKeys.MODEL_PREFIX + module + REF_A, ref[0]);
            state.put(PeftKeys.MODEL_PREFIX + module + REF_B, ref[1]);
        });
        return state;
    }

    @Override
    public void loadStateTensors(Map<String, NDArray> state) {
        Map<String, NDArray> factors = super.stateTensors();
        for (Map.Entry<String, NDArray> e : factors.entrySet()) {
            NDArray src = state.get(e.getKey());
            if (src == null || !src.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException("adapter state: tensor '" + e.getKey() + "' is missing or has "
                        + "another shape than " + e.getValue().getShape());
            }
            e.getValue().set(src.toFloatArray());
        }
        reference.values().forEach(ref -> {
            ref[0].close();
            ref[1].close();
        });
        reference.clear();
        offset.values().forEach(off -> {
            off[0].close();
            off[1].close();
        });
        offset.clear();
        restoreReference(state);
    }

    private void restoreReference(Map<String, NDArray> state) {
        boolean any = false;
        for (LoraLayer layer : loraLayers().values()) {
            NDArray a = state.get(PeftKeys.MODEL_PREFIX + layer.module() + REF_A);
            NDArray b = state.get(PeftKeys.MODEL_PREFIX + layer.module() + REF_B);
            if (a == null && b == null) {
                continue;
            }
            any = true;
            NDArray refA = copyChecked(state, PeftKeys.MODEL_PREFIX + layer.module() + REF_A, layer.a().getShape(),
                    manager);
            NDArray refB = copyChecked(state, PeftKeys.MODEL_PREFIX + layer.module() + REF_B, layer.b().getShape(),
                    manager);
            reference.put(layer.module(), new NDArray[] {refA, refB});
        }
        if (any) {
            if (reference.size() != loraLayers().size()) {
                throw new IllegalArgumentException("adapter state: Delta-LoRA reference factors exist for only "
                        + reference.size() + " of " + loraLayers().size() + " modules");
            }
            refreshOffsets();
        } else if (delta.startStep() < 0) {
            throw new IllegalArgumentException("adapter state: Delta-LoRA with delta_start_step -1 needs its "
                    + "reference factors (" + REF_A + ", " + REF_B + ")");
        }
    }
}
