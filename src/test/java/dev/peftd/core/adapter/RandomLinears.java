package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.Linear;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Real float32 linear layers with seeded random weights, standing in for a model's {@code linears()} in math tests. */
public final class RandomLinears {

    private RandomLinears() {
    }

    record Layer(String name, NDArray weight, NDArray bias) implements Linear {
    }

    /** A small two-layer "model": q/k/v/o of width 16 (k, v narrower) and an MLP of width 24, plus an lm_head. */
    static Map<String, Linear> tinyModel(NDManager manager, long seed) {
        Random rnd = new Random(seed);
        Map<String, Linear> map = new LinkedHashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            String p = "model.layers." + layer + ".";
            put(map, manager, rnd, p + "self_attn.q_proj", 16, 16);
            put(map, manager, rnd, p + "self_attn.k_proj", 8, 16);
            put(map, manager, rnd, p + "self_attn.v_proj", 8, 16);
            put(map, manager, rnd, p + "self_attn.o_proj", 16, 16);
            put(map, manager, rnd, p + "mlp.gate_proj", 24, 16);
            put(map, manager, rnd, p + "mlp.up_proj", 24, 16);
            put(map, manager, rnd, p + "mlp.down_proj", 16, 24);
        }
        put(map, manager, rnd, "lm_head", 32, 16);
        return map;
    }

    static void put(Map<String, Linear> map, NDManager manager, Random rnd, String name, int out, int in) {
        map.put(name, new Layer(name, random(manager, rnd, new Shape(out, in), 0.3), null));
    }

    static NDArray random(NDManager manager, Random rnd, Shape shape, double scale) {
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (scale * rnd.nextGaussian());
        }
        return manager.create(v, shape);
    }

    /** Fills every trainable tensor with seeded noise (a fresh LoRA has B = 0 and would make checks trivial). */
    public static void perturb(Adapter adapter, long seed, double scale) {
        Random rnd = new Random(seed);
        for (TrainableTensor t : adapter.trainableTensors()) {
            float[] v = new float[Math.toIntExact(t.value().size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (scale * rnd.nextGaussian());
            }
            t.value().set(v);
        }
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        try (NDArray d = a.sub(b); NDArray abs = d.abs(); NDArray max = abs.max()) {
            return max.getFloat();
        }
    }
}
