package dev.peftd.core.adapter.peft;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * PEFT's {@code adapter_config.json} for LoRA and VeRA: read (with every field that would change the numbers checked:
 * what peftd cannot reproduce is refused with the field's name) and written (the fields PEFT 0.21 writes for a
 * vanilla adapter, our own metadata kept out: it goes in {@code peftd.json}).
 */
public final class PeftConfigJson {

    public static final String FILE = "adapter_config.json";
    /** PEFT writes ~1 KB (a per-module rank_pattern for an 80-layer model ~60 KB); the file is read into memory. */
    static final long MAX_BYTES = 1024 * 1024;
    static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping()
            .serializeSpecialFloatingPointValues().create();

    private PeftConfigJson() {
    }

    /**
     * The adapter's config: a {@link LoraConfig} (peft_type LORA) or a {@link VeraConfig} (peft_type VERA).
     *
     * @throws AdapterConfigException starting with {@code adapter_config.json} and the field, for a file that is too
     *                                large, not a JSON object, or holds a field peftd cannot use
     */
    public static AdapterConfig read(Path adapterDir) throws IOException {
        Path file = adapterDir.resolve(FILE);
        JsonElement json;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new AdapterConfigException(FILE, "is " + size + " bytes; at most " + MAX_BYTES + " are read");
            }
            json = JsonParser.parseString(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "not a PEFT adapter directory: " + FILE + " is missing");
        } catch (JsonParseException | java.nio.charset.CharacterCodingException e) {
            throw new AdapterConfigException(FILE, "is not valid UTF-8 JSON (" + e.getMessage() + ")");
        }
        if (!json.isJsonObject()) {
            throw new AdapterConfigException(FILE, "must hold a JSON object, not " + json);
        }
        try {
            return parse(json.getAsJsonObject());
        } catch (AdapterConfigException e) {
            throw new AdapterConfigException(FILE + " " + e.getMessage().split(":", 2)[0],
                    e.getMessage().split(":", 2)[1].strip());
        }
    }

    static AdapterConfig parse(JsonObject json) {
        String type = string(json, "peft_type");
        if (type == null) {
            throw new AdapterConfigException("peft_type", "is missing");
        }
        requireAbsentOrDefault(json);
        TargetModules targets = targets(json);
        switch (type) {
            case "LORA": {
                rejectTrue(json, "use_dora", "DoRA adapters are not supported");
                rejectTrue(json, "lora_bias", "a trainable lora_B bias is not supported");
                rejectTrue(json, "use_qalora", "QALoRA is not supported");
                rejectNonNull(json, "trainable_token_indices", "trainable tokens are not supported");
                rejectNonNull(json, "target_parameters", "parameter targeting (MoE experts) is not supported");
                rejectNonNull(json, "alora_invocation_tokens", "activated LoRA is not supported");
                rejectNonNull(json, "layer_replication", "layer replication is not supported");
                int r = integer(json, "r", LoraConfig.DEFAULT_R);
                double alpha = number(json, "lora_alpha", LoraConfig.DEFAULT_ALPHA);
                return LoraConfig.withPatterns(r, alpha, number(json, "lora_dropout", 0.0), bool(json, "use_rslora"),
                        targets, integerMap(json, "rank_pattern"), numberMap(json, "alpha_pattern"));
            }
            case "VERA":
                return new VeraConfig(integer(json, "r", VeraConfig.DEFAULT_R),
                        number(json, "d_initial", VeraConfig.DEFAULT_D_INITIAL),
                        (long) number(json, "projection_prng_key", 0),
                        !json.has("save_projection") || json.get("save_projection").isJsonNull()
                                || bool(json, "save_projection"),
                        number(json, "vera_dropout", 0.0), targets);
            default:
                throw new AdapterConfigException("peft_type", "'" + type + "' is not supported (LORA and VERA are)");
        }
    }

    private static void requireAbsentOrDefault(JsonObject json) {
        String bias = string(json, "bias");
        if (bias != null && !bias.equals("none")) {
            throw new AdapterConfigException("bias", "'" + bias + "' trains base biases, which peftd does not support "
                    + "(only \"none\")");
        }
        rejectNonEmpty(json, "modules_to_save", "fully trained extra modules are not supported");
        rejectNonEmpty(json, "layers_to_transform", "layer filtering is not supported; list the modules instead");
        rejectNonEmpty(json, "exclude_modules", "exclude_modules is not supported; list the modules instead");
    }

    private static TargetModules targets(JsonObject json) {
        JsonElement t = json.get("target_modules");
        if (t == null || t.isJsonNull()) {
            throw new AdapterConfigException("target_modules", "is missing (PEFT's per-architecture defaults are not "
                    + "applied here)");
        }
        if (t.isJsonPrimitive()) {
            String s = string(json, "target_modules");
            return s.equals(TargetModules.ALL_LINEAR) ? TargetModules.allLinear() : TargetModules.regex(s);
        }
        if (!t.isJsonArray()) {
            throw new AdapterConfigException("target_modules", "must be a list of names or a regex string");
        }
        List<String> names = new ArrayList<>();
        for (JsonElement e : t.getAsJsonArray()) {
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw new AdapterConfigException("target_modules", "must list module names as strings, got " + e);
            }
            names.add(e.getAsString());
        }
        names.sort(null); // PEFT writes a Python set: the order carries no meaning
        return TargetModules.names(names);
    }

    private static String string(JsonObject json, String key) {
        JsonElement e = json.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new AdapterConfigException(key, "must be a string, got " + e);
        }
        return e.getAsString();
    }

    private static boolean bool(JsonObject json, String key) {
        JsonElement e = json.get(key);
        if (e == null || e.isJsonNull()) {
            return false;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new AdapterConfigException(key, "must be true or false, got " + e);
        }
        return e.getAsBoolean();
    }

    private static double number(JsonObject json, String key, double fallback) {
        JsonElement e = json.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new AdapterConfigException(key, "must be a number, got " + e);
        }
        return e.getAsDouble();
    }

    private static int integer(JsonObject json, String key, int fallback) {
        double v = number(json, key, fallback);
        if (v != Math.rint(v)) {
            throw new AdapterConfigException(key, "must be an integer, got " + v);
        }
        return (int) v;
    }

    private static Map<String, Integer> integerMap(JsonObject json, String key) {
        Map<String, Integer> out = new LinkedHashMap<>();
        numberMap(json, key).forEach((k, v) -> {
            if (v != Math.rint(v)) {
                throw new AdapterConfigException(key + "['" + k + "']", "must be an integer, got " + v);
            }
            out.put(k, (int) (double) v);
        });
        return out;
    }

    private static Map<String, Double> numberMap(JsonObject json, String key) {
        Map<String, Double> out = new LinkedHashMap<>();
        JsonElement e = json.get(key);
        if (e == null || e.isJsonNull()) {
            return out;
        }
        if (!e.isJsonObject()) {
            throw new AdapterConfigException(key, "must be an object of pattern → number");
        }
        for (Map.Entry<String, JsonElement> p : e.getAsJsonObject().entrySet()) {
            if (!p.getValue().isJsonPrimitive() || !p.getValue().getAsJsonPrimitive().isNumber()) {
                throw new AdapterConfigException(key + "['" + p.getKey() + "']", "must be a number");
            }
            out.put(p.getKey(), p.getValue().getAsDouble());
        }
        return out;
    }

    private static void rejectTrue(JsonObject json, String key, String reason) {
        if (bool(json, key)) {
            throw new AdapterConfigException(key, reason);
        }
    }

    private static void rejectNonNull(JsonObject json, String key, String reason) {
        JsonElement e = json.get(key);
        if (e != null && !e.isJsonNull()) {
            throw new AdapterConfigException(key, reason);
        }
    }

    private static void rejectNonEmpty(JsonObject json, String key, String reason) {
        JsonElement e = json.get(key);
        boolean empty = e == null || e.isJsonNull() || (e.isJsonArray() && e.getAsJsonArray().isEmpty());
        if (!empty) {
            throw new AdapterConfigException(key, reason);
        }
    }

    /**
     * A PEFT LoRA config.
     *
     * @param rankPattern  module pattern → rank (PEFT regex keys)
     * @param alphaPattern module pattern → alpha
     */
    static Map<String, Object> lora(int r, double alpha, double dropout, boolean useRslora, Object targetModules,
                                    Map<String, ?> rankPattern, Map<String, ?> alphaPattern, boolean fanInFanOut,
                                    String baseModel) {
        Map<String, Object> c = common("LORA", targetModules, fanInFanOut, baseModel);
        c.put("r", r);
        c.put("lora_alpha", integral(alpha));
        c.put("lora_dropout", dropout);
        c.put("use_rslora", useRslora);
        c.put("rank_pattern", rankPattern);
        c.put("alpha_pattern", integralValues(alphaPattern));
        c.put("init_lora_weights", true);
        c.put("use_dora", false);
        c.put("lora_bias", false);
        c.put("layer_replication", null);
        c.put("layers_pattern", null);
        c.put("layers_to_transform", null);
        return new TreeMap<>(c);
    }

    static Map<String, Object> vera(VeraConfig v, boolean saveProjection, boolean fanInFanOut, String baseModel,
                                    Object targetModules) {
        Map<String, Object> c = common("VERA", targetModules, fanInFanOut, baseModel);
        c.put("r", v.r());
        c.put("d_initial", v.dInitial());
        c.put("projection_prng_key", v.projectionPrngKey());
        c.put("save_projection", saveProjection);
        c.put("vera_dropout", v.dropout());
        c.put("init_weights", true);
        c.put("layers_pattern", null);
        c.put("layers_to_transform", null);
        return new TreeMap<>(c);
    }

    private static Map<String, Object> common(String type, Object targetModules, boolean fanInFanOut,
                                              String baseModel) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("peft_type", type);
        c.put("task_type", "CAUSAL_LM");
        c.put("target_modules", targetModules);
        c.put("fan_in_fan_out", fanInFanOut);
        c.put("bias", "none");
        c.put("modules_to_save", null);
        c.put("inference_mode", true);
        c.put("base_model_name_or_path", baseModel);
        c.put("revision", null);
        c.put("auto_mapping", null);
        c.put("peft_version", "0.21.0");
        return c;
    }

    /** 8.0 is written as 8, as Python writes an int alpha. */
    private static Object integral(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
    }

    private static Map<String, Object> integralValues(Map<String, ?> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> out.put(k, v instanceof Double d ? integral(d) : v));
        return out;
    }

    static void write(Path dir, Map<String, Object> config) throws IOException {
        Files.writeString(dir.resolve(FILE), GSON.toJson(config) + "\n");
    }
}
