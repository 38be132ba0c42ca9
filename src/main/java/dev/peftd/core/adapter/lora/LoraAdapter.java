package dev.peftd.core.adapter.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.Mt19937;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.adapter.TrainableTensor.Role;
import dev.peftd.core.model.Linear;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA, LoRA-FA and LoRA+ (one parametrization, {@code s·B·A}; they differ in what trains and in the optimizer):
 * LoRA-FA freezes A, LoRA+ only changes the optimizer's parameter groups.
 */
public class LoraAdapter extends AbstractAdapter {

    private final Map<String, LoraLayer> loraLayers = new LinkedHashMap<>();
    private final boolean freezeA;
    /** LoRA-FA with PEFT's gradient projection: B's tensor then carries its frozen A for the optimizer. */
    private final boolean projectGradient;

    /**
     * Fresh adapter with PEFT's default init: {@code A ~ U(±1/√in)} (kaiming-uniform, a=√5), {@code B = 0}, drawn from
     * an MT19937 stream seeded with {@code seed}, module after module in the model's order.
     *
     * @param targets the targeted base layers (already selected by target_modules), in the model's order
     */
    public static LoraAdapter initialize(AdapterConfig config, Map<String, Linear> targets, long seed) {
        Mt19937 rng = new Mt19937(seed);
        Map<String, float[]> a = new LinkedHashMap<>();
        for (Linear linear : targets.values()) {
            int r = requireLora(config).rankFor(linear.name());
            long in = linear.inFeatures();
            double bound = 1 / Math.sqrt(in);
            a.put(linear.name(), rng.uniform(Math.toIntExact(r * in), -bound, bound));
        }
        return new LoraAdapter(config, targets, (module, shapeA, shapeB, m) -> new NDArray[] {
                m.create(a.get(module), shapeA), m.zeros(shapeB)});
    }

    /**
     * Adapter from existing tensors (an imported PEFT file or a checkpoint).
     *
     * @param tensors PEFT keys → arrays; lora_A {@code [r, in]} and lora_B {@code [out, r]} of every target
     * @throws AdapterConfigException naming the key when a tensor is missing or has the wrong shape
     */
    public static LoraAdapter fromTensors(AdapterConfig config, Map<String, Linear> targets,
                                          Map<String, NDArray> tensors) {
        return new LoraAdapter(config, targets, (module, shapeA, shapeB, m) -> new NDArray[] {
                copyChecked(tensors, PeftKeys.loraA(module), shapeA, m),
                copyChecked(tensors, PeftKeys.loraB(module), shapeB, m)});
    }

    /** Creates a layer's A and B in the adapter's manager. */
    @FunctionalInterface
    protected interface FactorSource {
        NDArray[] create(String module, Shape shapeA, Shape shapeB, ai.djl.ndarray.NDManager manager);
    }

    protected LoraAdapter(AdapterConfig config, Map<String, Linear> targets, FactorSource source) {
        super(config, targets);
        LoraConfig lora = requireLora(config);
        this.freezeA = config instanceof LoraFaConfig;
        this.projectGradient = config instanceof LoraFaConfig fa && fa.projectGradient();
        double dropout = layerDropout(config);
        for (Linear linear : targets.values()) {
            String module = linear.name();
            int r = lora.rankFor(module);
            NDArray[] ab = source.create(module, new Shape(r, linear.inFeatures()),
                    new Shape(linear.outFeatures(), r), manager);
            ab[0].setRequiresGradient(!freezeA);
            ab[1].setRequiresGradient(true);
            double s = lora.scalingFor(module);
            LoraLayer layer = new LoraLayer(module, ab[0], ab[1], s, scalar(s), dropout);
            loraLayers.put(module, layer);
            addLayer(layer);
        }
    }

    /** The dropout of the low-rank branch (Delta-LoRA overrides it with 0). */
    protected double layerDropout(AdapterConfig config) {
        return requireLora(config).dropout();
    }

    public LoraLayer loraLayer(String module) {
        layer(module);
        return loraLayers.get(module);
    }

    protected Map<String, LoraLayer> loraLayers() {
        return loraLayers;
    }

    @Override
    public List<TrainableTensor> trainableTensors() {
        List<TrainableTensor> list = new ArrayList<>();
        for (LoraLayer layer : loraLayers.values()) {
            if (!freezeA) {
                list.add(new TrainableTensor(PeftKeys.loraA(layer.module()), layer.a(), Role.LORA_A));
            }
            // only a projecting LoRA-FA hands its frozen A to the optimizer: AdamW projects every B that carries one
            TrainableTensor.FrozenA frozen = projectGradient ? new TrainableTensor.FrozenA(layer.a(), layer.scaling()) : null;
            list.add(new TrainableTensor(PeftKeys.loraB(layer.module()), layer.b(), Role.LORA_B, frozen));
        }
        return list;
    }

    @Override
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> state = new LinkedHashMap<>();
        for (LoraLayer layer : loraLayers.values()) {
            state.put(PeftKeys.loraA(layer.module()), layer.a()); // frozen under LoRA-FA, still state
            state.put(PeftKeys.loraB(layer.module()), layer.b());
        }
        return state;
    }

    static LoraConfig requireLora(AdapterConfig config) {
        LoraConfig lora = config.lora();
        if (lora == null) {
            throw new AdapterConfigException("method", config.method().id() + " is not a LoRA-family method");
        }
        return lora;
    }

    /** A float32 copy of {@code tensors[key]} in {@code m}, after checking it exists and has {@code shape}. */
    public static NDArray copyChecked(Map<String, NDArray> tensors, String key, Shape shape,
                                      ai.djl.ndarray.NDManager m) {
        NDArray src = tensors.get(key);
        if (src == null) {
            throw new AdapterConfigException(key, "tensor is missing from the adapter");
        }
        if (!src.getShape().equals(shape)) {
            throw new AdapterConfigException(key, "has shape " + src.getShape() + " but the config and model need "
                    + shape);
        }
        if (src.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32) {
            return m.create(src.toFloatArray(), shape);
        }
        try (NDArray f32 = src.toType(ai.djl.ndarray.types.DataType.FLOAT32, true)) {
            return m.create(f32.toFloatArray(), shape);
        }
    }
}
