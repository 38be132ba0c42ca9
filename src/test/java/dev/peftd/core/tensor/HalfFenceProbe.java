package dev.peftd.core.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Run in a child JVM by {@link HalfFenceAbortTest}: one DJL call per mode, then "survived" on stdout. The trap modes
 * are expected to kill the process before it prints; the fence mode must print.
 */
public final class HalfFenceProbe {

    static final String SURVIVED = "survived";

    private HalfFenceProbe() {
    }

    public static void main(String[] args) throws Exception {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                NDArray x = manager.create(new float[] {1f, 2f, 3f, 4f}, new Shape(2, 2))) {
            switch (args[0]) {
                case "create-bf16" -> manager.create(new Shape(2), DataType.BFLOAT16);
                case "create-int16" -> manager.create(new Shape(2), DataType.INT16);
                case "totype-bf16" -> x.toType(DataType.BFLOAT16, false);
                case "zeroslike-half" -> HalfOps.cast(x, HalfType.BFLOAT16).array().zerosLike();
                case "fence" -> {
                    // everything a half model does, through the fence only
                    HalfTensor w = HalfOps.cast(x, HalfType.BFLOAT16);
                    HalfTensor f = HalfOps.convert(w, HalfType.FLOAT16);
                    HalfOps.linear(x, w, null).toFloatArray();
                    HalfOps.linear(x.get("0:1"), f, null).toFloatArray();
                    HalfOps.widen(w).toFloatArray();
                                        HalfOps.round(x, HalfType.BFLOAT16).toFloatArray();
                    System.out.println(w + " " + w.shape() + " " + w.size() + " " + w.device());
                    w.close();
                    f.close();
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
        System.out.println(SURVIVED);
    }
}
