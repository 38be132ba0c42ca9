package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.model.Linear;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every method shares: the map of adapted layers, the hook dispatch, enable/disable, and merge/unmerge, all
 * driven by {@link #deltaWeight(String)} — the single source of truth for merge, export and analysis.
 *
 * <p>Merging writes into the base model's live weights, so merge only a model this adapter owns (a private copy);
 * while merged the hook passes the base output through.
 */
public abstract class AbstractAdapter implements Adapter {

    /** Owns every array of the adapter (trainable, frozen and cached scalars). */
    protected final NDManager manager;
    private final AdapterConfig config;
    private final Map<String, Linear> baseLinears;
    private final Map<String, AdaptedLayer> layers = new LinkedHashMap<>();
    private volatile boolean training;
    private volatile boolean enabled = true;
    private volatile boolean merged;

    /**
     * @param baseLinears the targeted base layers by module name, in the model's order
     */
    protected AbstractAdapter(AdapterConfig config, Map<String, Linear> baseLinears) {
        this.config = config;
        this.baseLinears = Collections.unmodifiableMap(new LinkedHashMap<>(baseLinears));
        if (baseLinears.isEmpty()) {
            throw new AdapterConfigException("target_modules", "selects no linear layer");
        }
        // the adapter lives on the device of the weights it adapts (a GPU model gets GPU adapter tensors)
        this.manager = NDManager.newBaseManager(baseLinears.values().iterator().next().device());
    }

    /** Subclasses register each layer once, in the model's order. */
    protected final void addLayer(AdaptedLayer layer) {
        layers.put(layer.module(), layer);
    }

    public AdapterConfig config() {
        return config;
    }

    public Method method() {
        return config.method();
    }

    @Override
    public double loraPlusRatio() {
        return config instanceof LoraPlusConfig plus ? plus.lrRatio() : 0;
    }

    /** The adapted module names, in the model's order. */
    public List<String> modules() {
        return new ArrayList<>(layers.keySet());
    }

    public AdaptedLayer layer(String module) {
        AdaptedLayer layer = layers.get(module);
        if (layer == null) {
            throw new IllegalArgumentException("module '" + module + "' is not adapted; adapted: " + layers.keySet());
        }
        return layer;
    }

    /** The targeted base layer (its weight is the original W0 unless this adapter is merged). */
    public Linear baseLinear(String module) {
        layer(module);
        return baseLinears.get(module);
    }

    @Override
    public NDArray apply(String module, NDArray input, NDArray baseOutput) {
        if (!enabled || merged) {
            return baseOutput;
        }
        AdaptedLayer layer = layers.get(module);
        if (layer == null) {
            return baseOutput;
        }
        return baseOutput.add(layer.deltaOutput(input, training));
    }

    @Override
    public boolean adapts(String module) {
        return layers.containsKey(module);
    }

    @Override
    public void setTraining(boolean training) {
        this.training = training;
    }

    public boolean isTraining() {
        return training;
    }

    /** A disabled adapter leaves the base model's outputs unchanged (its tensors are kept). */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public boolean isEnabled() {
        return enabled;
    }

    public synchronized boolean isMerged() {
        return merged;
    }

    /**
     * The deployed weight change of {@code module} relative to the original base weight, float32 {@code [out, in]}
     * (a new array; the caller closes it).
     */
    public NDArray deltaWeight(String module) {
        try (LowRank f = deltaFactors(module)) {
            return f.product();
        }
    }

    /**
     * The same ΔW in factored form {@code left·right} (fresh arrays; the caller closes them): what the exact exports
     * and the low-rank SVD of the analysis read.
     */
    public LowRank deltaFactors(String module) {
        return layer(module).delta();
    }

    /** The number of trainable scalars (what the optimizer updates). */
    public long trainableParameterCount() {
        long n = 0;
        for (TrainableTensor t : trainableTensors()) {
            n += t.value().size();
        }
        return n;
    }

    /**
     * Adds every ΔW into its base weight in place. Checks all deltas for NaN/Inf first and changes nothing if any is
     * non-finite.
     *
     * @throws IllegalStateException naming the module with a non-finite delta, or when already merged
     */
    public synchronized void merge() {
        if (merged) {
            throw new IllegalStateException("adapter is already merged");
        }
        Map<String, NDArray> deltas = new LinkedHashMap<>();
        try {
            for (String module : layers.keySet()) {
                NDArray d = deltaWeight(module);
                deltas.put(module, d);
                requireFinite(module, d);
            }
            deltas.forEach((module, d) -> baseLinears.get(module).weight().addi(d));
            merged = true;
        } finally {
            deltas.values().forEach(NDArray::close);
        }
    }

    /** Subtracts what {@link #merge()} added (exact up to fp32 rounding), restoring the adapter's forward path. */
    public synchronized void unmerge() {
        if (!merged) {
            throw new IllegalStateException("adapter is not merged");
        }
        for (String module : layers.keySet()) {
            try (NDArray d = deltaWeight(module)) {
                baseLinears.get(module).weight().subi(d);
            }
        }
        merged = false;
    }

    /** @throws IllegalStateException when {@code delta} holds NaN or ±Inf */
    public static void requireFinite(String module, NDArray delta) {
        try (NDArray nan = delta.isNaN(); NDArray anyNan = nan.any();
             NDArray inf = delta.isInfinite(); NDArray anyInf = inf.any()) {
            if (anyNan.getBoolean() || anyInf.getBoolean()) {
                throw new IllegalStateException("module '" + module + "': the adapter's ΔW has non-finite values "
                        + "(NaN or Inf); refusing to merge");
            }
        }
    }

    /** A float32 scalar owned by the adapter, to multiply graph tensors with (never a Java number: djl-notes #1). */
    protected final NDArray scalar(double value) {
        return manager.create((float) value);
    }

    @Override
    public void close() {
        manager.close();
    }
}
