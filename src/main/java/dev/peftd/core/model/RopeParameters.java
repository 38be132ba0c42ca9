package dev.peftd.core.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Rotary position embedding parameters, as transformers 5 writes them under {@code rope_parameters} (and 4.x as
 * top-level {@code rope_theta} plus {@code rope_scaling}).
 *
 * @param type                  {@code default}, {@code linear} or {@code llama3}
 * @param theta                 base of the frequencies
 * @param factor                scaling factor ({@code linear}, {@code llama3}); 1 otherwise
 * @param lowFreqFactor         {@code llama3} only
 * @param highFreqFactor        {@code llama3} only
 * @param originalMaxPositions  {@code llama3} only: the context length before scaling
 */
public record RopeParameters(String type, double theta, double factor, double lowFreqFactor, double highFreqFactor,
        int originalMaxPositions) {

    public static final String DEFAULT = "default";
    public static final String LINEAR = "linear";
    public static final String LLAMA3 = "llama3";

    public static RopeParameters plain(double theta) {
        return new RopeParameters(DEFAULT, theta, 1, 0, 0, 0);
    }

    /**
     * Maps both config.json dialects: transformers 5 ({@code rope_parameters} holding {@code rope_theta} and the
     * scaling) and 4.x (top-level {@code rope_theta}, scaling in {@code rope_scaling} with {@code rope_type} or the
     * older {@code type}).
     */
    public static RopeParameters read(ConfigJson config) throws ModelLoadException {
        double topLevelTheta = config.doubleOr("rope_theta", 10000.0);
        String owner = "rope_parameters";
        JsonObject params = config.objectOrNull(owner);
        double theta = topLevelTheta;
        String thetaKey = "rope_theta";
        if (params != null) {
            theta = config.nestedDouble(owner, params, "rope_theta", topLevelTheta);
            thetaKey = params.has("rope_theta") ? owner + ".rope_theta" : thetaKey;
        } else {
            owner = "rope_scaling";
            params = config.objectOrNull(owner);
        }
        // a zero or negative base gives NaN or inverted frequencies: the model would load and talk nonsense
        config.positive(thetaKey, theta);
        if (params == null) {
            return plain(theta);
        }
        JsonElement typeJson = params.has("rope_type") ? params.get("rope_type") : params.get("type");
        String type = typeJson == null || typeJson.isJsonNull() ? DEFAULT : typeJson.getAsString();
        return switch (type) {
            case DEFAULT -> plain(theta);
            case LINEAR -> new RopeParameters(LINEAR, theta, positive(config, owner, params, "factor"), 0, 0, 0);
            case LLAMA3 -> llama3(config, owner, params, theta);
            default -> throw config.error(owner + ".rope_type",
                    "'" + type + "' is not supported (supported: default, linear, llama3)");
        };
    }

    private static RopeParameters llama3(ConfigJson config, String owner, JsonObject params, double theta)
            throws ModelLoadException {
        double low = positive(config, owner, params, "low_freq_factor");
        double high = positive(config, owner, params, "high_freq_factor");
        if (!(high > low)) {
            // the smoothing between the two bands divides by (high - low)
            throw config.error(owner + ".high_freq_factor", "must be greater than low_freq_factor " + low + ", got " + high);
        }
        double originalPositions = positive(config, owner, params, "original_max_position_embeddings");
        if (originalPositions > ConfigJson.MAX_POSITIONS) {
            throw config.error(owner + ".original_max_position_embeddings", originalPositions
                    + " is beyond the sane bound of " + ConfigJson.MAX_POSITIONS + " positions");
        }
        return new RopeParameters(LLAMA3, theta, positive(config, owner, params, "factor"), low, high,
                (int) originalPositions);
    }

    private static double positive(ConfigJson config, String owner, JsonObject params, String key)
            throws ModelLoadException {
        return config.positive(owner + "." + key, config.nestedDouble(owner, params, key, null));
    }

    /**
     * The {@code headDim / 2} inverse frequencies, computed in float32 in the same order of operations as
     * transformers ({@code _compute_default_rope_parameters} and {@code _compute_llama3_parameters}), so that the
     * angles agree to the last bit or two.
     */
    public float[] inverseFrequencies(int headDim) {
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        switch (type) {
            case DEFAULT -> {
            }
            case LINEAR -> {
                for (int i = 0; i < inv.length; i++) {
                    inv[i] = inv[i] / (float) factor;
                }
            }
            case LLAMA3 -> applyLlama3Scaling(inv);
            default -> throw new IllegalStateException("unsupported rope type " + type);
        }
        return inv;
    }

    /** Llama 3.1: long wavelengths divided by {@code factor}, short ones kept, the band between interpolated. */
    private void applyLlama3Scaling(float[] inv) {
        float lowFreqWavelen = (float) (originalMaxPositions / lowFreqFactor);
        float highFreqWavelen = (float) (originalMaxPositions / highFreqFactor);
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (float) (2 * Math.PI) / inv[i];
            float scaled = wavelen > lowFreqWavelen ? inv[i] / (float) factor : inv[i];
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = (float) ((originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
                scaled = (1 - smooth) * scaled / (float) factor + smooth * scaled;
            }
            inv[i] = scaled;
        }
    }
}
