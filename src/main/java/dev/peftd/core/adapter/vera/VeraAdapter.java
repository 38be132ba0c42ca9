package dev.peftd.core.adapter.vera;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.model.LayerSegmentListener;
import dev.peftd.core.model.LinearLayer;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.adapter.TrainableTensor.Role;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.adapter.lora.LoraAdapter;
import dev.peftd.core.model.Linear;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * VeRA: one frozen random pair {@code vera_A [r, max_in]}, {@code vera_B [max_out, r]} shared by all targets (sized
 * to the largest targeted layer and sliced per layer), and per layer the trainable vectors {@code b [out]} (init 0)
 * and {@code d [r]} (init {@code d_initial}).
 */
public final class VeraAdapter extends AbstractAdapter implements LayerSegmentListener {

    private final VeraConfig vera;
    private final NDArray projA; // [r, maxIn], frozen
    private final NDArray projB; // [maxOut, r], frozen
    private final Map<String, VeraLayer> veraLayers = new LinkedHashMap<>();
    private final SharedProjection shared = new SharedProjection();
    /** The segmented training pass running on each thread, if any ({@link MergedTrainingPass}). */
    private final ThreadLocal<MergedTrainingPass> mergedPass = new ThreadLocal<>();
    /** {@code vera_A[:, :in]} per distinct input width, made contiguous once (a column slice is a strided view). */
    private final Map<Long, NDArray> slicesA = new LinkedHashMap<>();

    /** Fresh adapter: projections regenerated from {@code projection_prng_key}, {@code b = 0}, {@code d = d_initial}. */
    public static VeraAdapter initialize(VeraConfig config, Map<String, Linear> targets) {
        return new VeraAdapter(config, targets, null, (module, shapeB, shapeD, m) -> new NDArray[] {
                m.zeros(shapeB), m.full(shapeD, (float) config.dInitial())});
    }

    /**
     * Adapter from PEFT tensors. The projections come from {@code base_model.vera_A}/{@code vera_B} when present
     * (they may be larger than this model needs), otherwise they are regenerated from {@code projection_prng_key}.
     */
    public static VeraAdapter fromTensors(VeraConfig config, Map<String, Linear> targets,
                                          Map<String, NDArray> tensors) {
        return new VeraAdapter(config, targets, tensors, (module, shapeB, shapeD, m) -> new NDArray[] {
                LoraAdapter.copyChecked(tensors, PeftKeys.veraLambdaB(module), shapeB, m),
                LoraAdapter.copyChecked(tensors, PeftKeys.veraLambdaD(module), shapeD, m)});
    }

    @FunctionalInterface
    private interface VectorSource {
        NDArray[] create(String module, Shape shapeB, Shape shapeD, ai.djl.ndarray.NDManager manager);
    }

    private VeraAdapter(VeraConfig config, Map<String, Linear> targets, Map<String, NDArray> tensors,
                        VectorSource source) {
        super(config, targets);
        this.vera = config;
        int r = config.r();
        int maxIn = 0;
        int maxOut = 0;
        for (Linear linear : targets.values()) {
            maxIn = Math.max(maxIn, Math.toIntExact(linear.inFeatures()));
            maxOut = Math.max(maxOut, Math.toIntExact(linear.outFeatures()));
        }
        if (tensors != null && (tensors.containsKey(PeftKeys.VERA_A) || tensors.containsKey(PeftKeys.VERA_B))) {
            this.projA = storedProjection(tensors, PeftKeys.VERA_A, r, maxIn, true);
            this.projB = storedProjection(tensors, PeftKeys.VERA_B, maxOut, r, false);
        } else {
            VeraProjections p = VeraProjections.generate(r, maxIn, maxOut, config.projectionPrngKey());
            HalfType half = targets.values().iterator().next().halfType();
            this.projA = roundedTo(half, manager.create(p.a(), new Shape(r, maxIn)));
            this.projB = roundedTo(half, manager.create(p.b(), new Shape(maxOut, r)));
        }
        for (Linear linear : targets.values()) {
            String module = linear.name();
            NDArray[] bd = source.create(module, new Shape(linear.outFeatures()), new Shape(r), manager);
            bd[0].setRequiresGradient(true);
            bd[1].setRequiresGradient(true);
            NDArray sliceA = slicesA.computeIfAbsent(linear.inFeatures(), this::contiguousSliceA); // [r, in]
            NDArray sliceB = projB.get(new NDIndex(":{}, :", linear.outFeatures())); // [out, r]
            VeraLayer layer = new VeraLayer(module, bd[0], bd[1], sliceA, sliceB, config.dropout(), shared);
            veraLayers.put(module, layer);
            addLayer(layer);
        }
    }

    /**
     * A regenerated projection on a half base holds the half-rounded draw (in float32), as PEFT's does: it draws in
     * float32, moves the buffers to the base layer's dtype and upcasts them again for the float32 adapter
     * ({@code autocast_adapter_dtype}). Stored projections are loaded as stored (PEFT copies them into the float32
     * buffers after that round trip).
     *
     * @param half the base's half type, or {@code null} for a float32 base
     * @param draw float32, owned by the adapter's manager
     */
    private NDArray roundedTo(HalfType half, NDArray draw) {
        if (half == null) {
            return draw;
        }
        NDArray rounded = HalfOps.roundToKeep(draw, half);
        rounded.attach(manager);
        draw.close();
        return rounded;
    }

    private NDArray contiguousSliceA(long width) {
        if (width == projA.getShape().get(1)) {
            return projA;
        }
        try (NDArray view = projA.get(new NDIndex(":, :{}", width))) {
            return view.duplicate();
        }
    }

    /** A stored projection, checked to be wide enough: {@code [r, ≥maxIn]} for A, {@code [≥maxOut, r]} for B. */
    private NDArray storedProjection(Map<String, NDArray> tensors, String key, int rows, int cols, boolean isA) {
        NDArray src = tensors.get(key);
        if (src == null) {
            throw new AdapterConfigException(key, "is missing while the other VeRA projection is present");
        }
        Shape s = src.getShape();
        boolean ok = s.dimension() == 2 && (isA
                ? s.get(0) == rows && s.get(1) >= cols
                : s.get(0) >= rows && s.get(1) == cols);
        if (!ok) {
            throw new AdapterConfigException(key, "has shape " + s + "; this model needs " + (isA
                    ? "[" + rows + ", ≥" + cols + "]" : "[≥" + rows + ", " + cols + "]") + " (r from the config)");
        }
        return LoraAdapter.copyChecked(tensors, key, s, manager);
    }

    /**
     * In a segmented training pass, adapted layers without dropout compute their output through the merged weight
     * ({@link MergedTrainingPass}); everywhere else (inference, evaluation, dropout, unsegmented backward, and a half
     * base, whose weight stays half and whose output PEFT computes as the half base output plus the float32 factored
     * branch) through the factored branch.
     */
    @Override
    public NDArray output(LinearLayer base, NDArray input) {
        MergedTrainingPass pass = mergedPass.get();
        VeraLayer layer = veraLayers.get(base.name());
        if (pass == null || layer == null || layer.hasDropout() || !isTraining() || !isEnabled() || isMerged()
                || !JniUtils.isGradMode() || base.halfPrecision()) {
            return apply(base.name(), input, base.baseOutput(input));
        }
        return pass.output(base, layer, input);
    }

    @Override
    public void layerForwardStarts() {
        MergedTrainingPass pass = mergedPass.get();
        if (pass == null) {
            pass = new MergedTrainingPass(manager);
            mergedPass.set(pass);
        }
        pass.layerForwardStarts();
    }

    @Override
    public void layerBackwardDone() {
        MergedTrainingPass pass = mergedPass.get();
        if (pass != null) {
            pass.layerBackwardDone();
        }
    }

    @Override
    public void segmentsClosed() {
        MergedTrainingPass pass = mergedPass.get();
        if (pass != null) {
            pass.close();
            mergedPass.remove();
        }
    }

    public VeraConfig veraConfig() {
        return vera;
    }

    /** The shared {@code vera_A}, {@code [r, max_in]} (live, frozen). */
    public NDArray projectionA() {
        return projA;
    }

    /** The shared {@code vera_B}, {@code [max_out, r]} (live, frozen). */
    public NDArray projectionB() {
        return projB;
    }

    /** {@code vera_lambda_b} of a module, {@code [out]} (live). */
    public NDArray lambdaB(String module) {
        layer(module);
        return veraLayers.get(module).lambdaB();
    }

    /** {@code vera_lambda_d} of a module, {@code [r]} (live). */
    public NDArray lambdaD(String module) {
        layer(module);
        return veraLayers.get(module).lambdaD();
    }

    @Override
    public List<TrainableTensor> trainableTensors() {
        List<TrainableTensor> list = new ArrayList<>();
        for (VeraLayer layer : veraLayers.values()) {
            list.add(new TrainableTensor(PeftKeys.veraLambdaB(layer.module()), layer.lambdaB(), Role.VERA_VECTOR));
            list.add(new TrainableTensor(PeftKeys.veraLambdaD(layer.module()), layer.lambdaD(), Role.VERA_VECTOR));
        }
        return list;
    }

    @Override
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> state = super.stateTensors();
        state.put(PeftKeys.VERA_A, projA);
        state.put(PeftKeys.VERA_B, projB);
        return state;
    }

    @Override
    public void close() {
        shared.forget();
        super.close();
    }
}
