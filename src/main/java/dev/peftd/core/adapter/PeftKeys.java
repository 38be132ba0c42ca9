package dev.peftd.core.adapter;

/**
 * The tensor names of PEFT's {@code adapter_model.safetensors} (the adapter name such as {@code .default} is not part
 * of the stored key). PEFT key grammar lives here and nowhere else.
 */
public final class PeftKeys {

    public static final String MODEL_PREFIX = "base_model.model.";
    public static final String VERA_A = "base_model.vera_A";
    public static final String VERA_B = "base_model.vera_B";
    public static final String LORA_A_SUFFIX = ".lora_A.weight";
    public static final String LORA_B_SUFFIX = ".lora_B.weight";
    public static final String VERA_LAMBDA_B_SUFFIX = ".vera_lambda_b";
    public static final String VERA_LAMBDA_D_SUFFIX = ".vera_lambda_d";

    private PeftKeys() {
    }

    public static String loraA(String module) {
        return MODEL_PREFIX + module + LORA_A_SUFFIX;
    }

    public static String loraB(String module) {
        return MODEL_PREFIX + module + LORA_B_SUFFIX;
    }

    public static String veraLambdaB(String module) {
        return MODEL_PREFIX + module + VERA_LAMBDA_B_SUFFIX;
    }

    public static String veraLambdaD(String module) {
        return MODEL_PREFIX + module + VERA_LAMBDA_D_SUFFIX;
    }

    /** The HF module name of a per-module key ending in {@code suffix}, or {@code null} if the key is not of that kind. */
    public static String moduleOf(String key, String suffix) {
        if (!key.startsWith(MODEL_PREFIX) || !key.endsWith(suffix)) {
            return null;
        }
        return key.substring(MODEL_PREFIX.length(), key.length() - suffix.length());
    }
}
