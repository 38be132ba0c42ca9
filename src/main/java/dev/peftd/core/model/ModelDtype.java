package dev.peftd.core.model;

import ai.djl.Device;
import dev.peftd.core.tensor.HalfGemm;
import dev.peftd.core.tensor.HalfType;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The precision a base model's frozen weights are kept and computed in, as transformers' {@code dtype} argument
 * names it. The one place the names are parsed: the CLI's {@code --dtype}, a registration field and a job
 * hyperparameter all go through {@link #parse}.
 */
public enum ModelDtype {
    /**
     * The checkpoint's own floating type (its first floating tensor's) where the device computes it natively, float32
     * where it does not; resolved at load ({@code ModelLoader.resolve}). The default everywhere.
     */
    AUTO("auto", null),
    BFLOAT16("bfloat16", HalfType.BFLOAT16),
    FLOAT16("float16", HalfType.FLOAT16),
    FLOAT32("float32", null);

    private final String externalName;
    private final HalfType half;

    ModelDtype(String externalName, HalfType half) {
        this.externalName = externalName;
        this.half = half;
    }

    /** The name users write: {@code auto}, {@code bfloat16}, {@code float16}, {@code float32}. */
    public String externalName() {
        return externalName;
    }

    /** The half type the weights are held in, or {@code null} for float32 (and for AUTO, which is resolved at load). */
    HalfType half() {
        return half;
    }

    /** True for bfloat16 and float16: weights held in a half type (AUTO is resolved only at load). */
    public boolean isHalf() {
        return half != null;
    }

    /**
     * What {@link #AUTO} is for a checkpoint stored in {@code stored} on {@code device}: its type where the device
     * computes that type natively ({@link HalfGemm#NATIVE}: a GPU, a CPU with the type's dot-product instructions),
     * float32 where it does not. Emulated half GEMMs cost 2–8× float32's time per product there, and a bf16 base
     * trained at 12× float32's CPU time (docs/djl-notes.md, "This machine"): a price a default must not charge
     * silently; a client who wants half-size weights there anyway names the type.
     */
    public static ModelDtype auto(ModelDtype stored, Device device) {
        return stored.isHalf() && HalfGemm.on(device, stored.half) == HalfGemm.NATIVE ? stored : FLOAT32;
    }

    /** The type of a loaded model's weights: its half type, float32 for {@code null}. */
    public static ModelDtype of(HalfType half) {
        if (half == null) {
            return FLOAT32;
        }
        return half == HalfType.BFLOAT16 ? BFLOAT16 : FLOAT16;
    }

    /**
     * @param name one of {@link #externalName()}s, case-insensitive
     * @throws IllegalArgumentException naming the accepted values
     */
    public static ModelDtype parse(String name) {
        for (ModelDtype d : values()) {
            if (d.externalName.equals(name.toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "' (use one of " + names() + ")");
    }

    /** The accepted names, comma-separated, for messages and help texts. */
    public static String names() {
        return Arrays.stream(values()).map(ModelDtype::externalName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return externalName;
    }
}
