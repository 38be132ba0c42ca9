package dev.peftd.core.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A model's config.json with typed accessors whose errors name the file and the key. Families map its keys to a
 * {@link ModelConfig}; nothing outside {@code dev.peftd.core.model} reads config.json.
 */
public final class ConfigJson {

    public static final String FILE_NAME = "config.json";

    private final Path file;
    private final JsonObject json;

    ConfigJson(Path file, JsonObject json) {
        this.file = file;
        this.json = json;
    }

    public static ConfigJson read(Path modelDir) throws ModelLoadException {
        Path file = modelDir.resolve(FILE_NAME);
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            if (!root.isJsonObject()) {
                throw new ModelLoadException(file, "expected a JSON object");
            }
            return new ConfigJson(file, root.getAsJsonObject());
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(file, "missing (is the folder a Hugging Face model directory?)");
        } catch (JsonParseException e) {
            throw new ModelLoadException(file, "not valid JSON (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ModelLoadException(file, "cannot read (" + e.getClass().getSimpleName() + ")");
        }
    }

    public Path file() {
        return file;
    }

    /** A failure about {@code key} in this file. */
    public ModelLoadException error(String key, String reason) {
        return new ModelLoadException(file, key, reason);
    }

    public boolean has(String key) {
        return json.has(key) && !json.get(key).isJsonNull();
    }

    /** The first entry of {@code architectures}. */
    public String architecture() throws ModelLoadException {
        JsonElement archs = json.get("architectures");
        if (archs == null || !archs.isJsonArray() || archs.getAsJsonArray().isEmpty()) {
            throw error("architectures", "missing; cannot tell which model class this checkpoint is");
        }
        return archs.getAsJsonArray().get(0).getAsString();
    }

    public int requireInt(String key) throws ModelLoadException {
        if (!has(key)) {
            throw error(key, "missing");
        }
        return asInt(key, json.get(key));
    }

    /**
     * The most positions a config may declare: 16M, above every released context length (Llama 4 Scout declares
     * 10M) yet far below what would let a corrupt value turn the server's context checks into no checks at all.
     */
    public static final int MAX_POSITIONS = 1 << 24;

    /** A required size (layers, heads, widths, vocabulary): a positive integer. */
    public int requireDimension(String key) throws ModelLoadException {
        return positive(key, requireInt(key));
    }

    /** An optional size, {@code fallback} when absent; a positive integer when present. */
    public int dimensionOr(String key, int fallback) throws ModelLoadException {
        return has(key) ? positive(key, requireInt(key)) : fallback;
    }

    /** A context length: positive and at most {@link #MAX_POSITIONS}. */
    public int positionsOr(String key, int fallback) throws ModelLoadException {
        int positions = dimensionOr(key, fallback);
        if (positions > MAX_POSITIONS) {
            throw error(key, positions + " is beyond the sane bound of " + MAX_POSITIONS + " positions");
        }
        return positions;
    }

    /** A strictly positive, finite number (epsilons, rope bases, scaling factors), {@code fallback} when absent. */
    public double positiveDoubleOr(String key, double fallback) throws ModelLoadException {
        return positive(key, doubleOr(key, fallback));
    }

    /** {@code value} when strictly positive and finite, else a failure naming {@code key}. */
    public double positive(String key, double value) throws ModelLoadException {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw error(key, "must be a positive number, got " + value);
        }
        return value;
    }

    private int positive(String key, int value) throws ModelLoadException {
        if (value <= 0) {
            throw error(key, "must be a positive integer, got " + value);
        }
        return value;
    }

    public int intOr(String key, int fallback) throws ModelLoadException {
        return has(key) ? asInt(key, json.get(key)) : fallback;
    }

    public double doubleOr(String key, double fallback) throws ModelLoadException {
        return has(key) ? asDouble(key, json.get(key)) : fallback;
    }

    public boolean booleanOr(String key, boolean fallback) throws ModelLoadException {
        if (!has(key)) {
            return fallback;
        }
        JsonElement v = json.get(key);
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isBoolean()) {
            throw error(key, "expected true or false, got " + v);
        }
        return v.getAsBoolean();
    }

    public String stringOr(String key, String fallback) throws ModelLoadException {
        if (!has(key)) {
            return fallback;
        }
        JsonElement v = json.get(key);
        if (!v.isJsonPrimitive()) {
            throw error(key, "expected a string, got " + v);
        }
        return v.getAsString();
    }

    /** A nested object, or {@code null} when absent or null. */
    public JsonObject objectOrNull(String key) throws ModelLoadException {
        if (!has(key)) {
            return null;
        }
        if (!json.get(key).isJsonObject()) {
            throw error(key, "expected an object, got " + json.get(key));
        }
        return json.getAsJsonObject(key);
    }

    /** {@code eos_token_id} (or another id key) as a list: config.json holds either one id or an array. */
    public int[] idsOrEmpty(String key) throws ModelLoadException {
        if (!has(key)) {
            return new int[0];
        }
        JsonElement v = json.get(key);
        if (v.isJsonArray()) {
            JsonArray a = v.getAsJsonArray();
            int[] ids = new int[a.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = asInt(key, a.get(i));
            }
            return ids;
        }
        return new int[] {asInt(key, v)};
    }

    /** Reads a number from a nested object (e.g. {@code rope_parameters.factor}), naming {@code owner.key} in errors. */
    public double nestedDouble(String owner, JsonObject object, String key, Double fallback) throws ModelLoadException {
        JsonElement v = object.get(key);
        if (v == null || v.isJsonNull()) {
            if (fallback == null) {
                throw error(owner + "." + key, "missing");
            }
            return fallback;
        }
        return asDouble(owner + "." + key, v);
    }

    private int asInt(String key, JsonElement v) throws ModelLoadException {
        try {
            double d = v.getAsDouble();
            if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
                throw error(key, "expected an integer, got " + v);
            }
            return (int) d;
        } catch (RuntimeException e) {
            throw error(key, "expected an integer, got " + v);
        }
    }

    private double asDouble(String key, JsonElement v) throws ModelLoadException {
        try {
            return v.getAsDouble();
        } catch (RuntimeException e) {
            throw error(key, "expected a number, got " + v);
        }
    }
}
