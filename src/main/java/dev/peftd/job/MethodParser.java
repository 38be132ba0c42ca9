package dev.peftd.job;

import dev.peftd.api.ApiProblem;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * Reads {@code method} (and OpenAI's deprecated top-level {@code hyperparameters}) from a create request into a
 * {@link TrainingMethod}, filling defaults. Every refusal names the JSON path of the field and why, e.g.
 * {@code method.lora.hyperparameters.r: must be between 1 and 1024, got 0}.
 */
final class MethodParser {

    static final double DEFAULT_LEARNING_RATE = 2e-4;
    private static final int MAX_LORA_RANK = 1024;
    private static final int MAX_VERA_RANK = 4096;
    private static final Pattern MODULE_NAME = Pattern.compile("[A-Za-z0-9_.\\-]{1,200}");
    private static final Set<String> COMMON = Set.of("r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora",
            "n_epochs", "max_steps", "batch_size", "learning_rate", "learning_rate_multiplier", "lr_scheduler",
            "warmup_steps", "weight_decay", "max_grad_norm", "gradient_accumulation_steps", "max_seq_length",
            "checkpoint_every");
    private static final Map<MethodType, Set<String>> SPECIFIC = Map.of(
            MethodType.lora, Set.of(),
            MethodType.lora_fa, Set.of("lora_fa_project_grad"),
            MethodType.vera, Set.of("vera_d_initial", "projection_prng_key"),
            MethodType.delta_lora, Set.of("delta_lambda", "delta_start_step"),
            MethodType.lora_plus, Set.of("loraplus_lr_ratio"));
    private static final Set<String> OPENAI_TOP_LEVEL = Set.of("batch_size", "learning_rate_multiplier", "n_epochs");

    private final int defaultCheckpointEvery;

    MethodParser(int defaultCheckpointEvery) {
        this.defaultCheckpointEvery = defaultCheckpointEvery;
    }

    TrainingMethod parse(JsonNode method, JsonNode topLevelHyperparameters) {
        MethodType type = MethodType.lora;
        String apiName = "lora";
        JsonNode hp = null;
        if (method != null && !method.isNull()) {
            if (!method.isObject()) {
                throw ApiProblem.invalidField("method", "must be an object like {\"type\":\"lora\",\"lora\":{…}}");
            }
            JsonNode typeNode = method.get("type");
            if (typeNode == null || !typeNode.isString()) {
                throw ApiProblem.invalidField("method.type", "missing; one of lora, lora_fa, vera, delta_lora, lora_plus, supervised");
            }
            apiName = typeNode.asString();
            type = MethodType.fromApi(apiName).orElseThrow(() -> ApiProblem.invalidField("method.type",
                    "unknown method '" + typeNode.asString() + "'; one of lora, lora_fa, vera, delta_lora, lora_plus, supervised"));
            JsonNode section = method.get(apiName);
            if (section != null && !section.isNull()) {
                if (!section.isObject()) {
                    throw ApiProblem.invalidField("method." + apiName, "must be an object with \"hyperparameters\"");
                }
                hp = section.get("hyperparameters");
            }
        }
        Values values = new Values("method." + apiName + ".hyperparameters");
        if (topLevelHyperparameters != null && !topLevelHyperparameters.isNull()) {
            values.addAll(topLevelHyperparameters, "hyperparameters", OPENAI_TOP_LEVEL);
        }
        if (hp != null && !hp.isNull()) {
            Set<String> allowed = new TreeSet<>(COMMON);
            allowed.addAll(SPECIFIC.get(type));
            values.addAll(hp, values.prefix, allowed, type);
        }
        return new TrainingMethod(type, resolve(type, values));
    }

    private Hyperparameters resolve(MethodType type, Values v) {
        boolean vera = type == MethodType.vera;
        int r = v.integer("r", vera ? 256 : 8, 1, vera ? MAX_VERA_RANK : MAX_LORA_RANK);
        Double alpha = vera ? null : v.decimal("lora_alpha", 2.0 * r, 1e-6, 1e6);
        double dropout = v.decimal("lora_dropout", 0.0, 0.0, 0.999);
        if (type == MethodType.delta_lora && dropout > 0) {
            throw ApiProblem.invalidField(v.path("lora_dropout"), "Delta-LoRA trains without dropout on the adapter branch; use 0");
        }
        double learningRate = v.has("learning_rate")
                ? v.decimal("learning_rate", DEFAULT_LEARNING_RATE, 1e-9, 1.0)
                : DEFAULT_LEARNING_RATE * v.decimal("learning_rate_multiplier", 1.0, 1e-6, 100.0);
        return new Hyperparameters(
                r, alpha, dropout, v.targetModules(),
                vera ? null : v.bool("use_rslora", false),
                type == MethodType.lora_fa ? v.bool("lora_fa_project_grad", false) : null,
                vera ? v.decimal("vera_d_initial", 0.1, 1e-6, 10.0) : null,
                vera ? (long) v.integer("projection_prng_key", 0, 0, Integer.MAX_VALUE) : null,
                type == MethodType.delta_lora ? v.decimal("delta_lambda", 2.0, 1e-6, 100.0) : null,
                type == MethodType.delta_lora ? v.integer("delta_start_step", 500, 0, 10_000_000) : null,
                type == MethodType.lora_plus ? v.decimal("loraplus_lr_ratio", 16.0, 1.0, 10_000.0) : null,
                v.integer("n_epochs", 1, 1, 50),
                v.has("max_steps") ? v.integer("max_steps", 0, 1, 1_000_000) : null,
                v.integer("batch_size", 4, 1, 1024),
                learningRate,
                v.choice("lr_scheduler", "linear", Set.of("linear", "cosine", "constant")),
                v.integer("warmup_steps", 0, 0, 1_000_000),
                v.decimal("weight_decay", 0.0, 0.0, 10.0),
                v.decimal("max_grad_norm", 1.0, 0.0, 1e6),
                v.integer("gradient_accumulation_steps", 1, 1, 1024),
                v.integer("max_seq_length", 512, 8, 32_768),
                v.integer("checkpoint_every", defaultCheckpointEvery, 1, 1_000_000));
    }

    /** The given values by name, with the path each came from for error messages; {@code "auto"} means the default. */
    private static final class Values {
        final String prefix;
        final Map<String, JsonNode> nodes = new HashMap<>();
        final Map<String, String> paths = new HashMap<>();

        Values(String prefix) {
            this.prefix = prefix;
        }

        void addAll(JsonNode object, String path, Set<String> allowed) {
            addAll(object, path, allowed, null);
        }

        void addAll(JsonNode object, String path, Set<String> allowed, MethodType type) {
            if (!object.isObject()) {
                throw ApiProblem.invalidField(path, "must be an object");
            }
            for (Map.Entry<String, JsonNode> field : object.properties()) {
                String name = field.getKey();
                if (!allowed.contains(name)) {
                    String owner = SPECIFIC.entrySet().stream().filter(e -> e.getValue().contains(name))
                            .map(e -> e.getKey().name()).findFirst().orElse(null);
                    throw ApiProblem.invalidField(path + "." + name, owner != null && type != null
                            ? "only applies to method '" + owner + "'"
                            : "unknown hyperparameter; known: " + String.join(", ", new TreeSet<>(allowed)));
                }
                JsonNode value = field.getValue();
                if (value.isString() && value.asString().equals("auto")) {
                    continue;
                }
                nodes.put(name, value);
                paths.put(name, path + "." + name);
            }
        }

        boolean has(String name) {
            return nodes.containsKey(name);
        }

        String path(String name) {
            return paths.getOrDefault(name, prefix + "." + name);
        }

        int integer(String name, int fallback, int min, int max) {
            JsonNode node = nodes.get(name);
            if (node == null) {
                return fallback;
            }
            if (!node.isIntegralNumber() || !node.canConvertToInt()) {
                throw ApiProblem.invalidField(path(name), "must be an integer, got " + node);
            }
            int value = node.asInt();
            if (value < min || value > max) {
                throw ApiProblem.invalidField(path(name), "must be between " + min + " and " + max + ", got " + value);
            }
            return value;
        }

        double decimal(String name, double fallback, double min, double max) {
            JsonNode node = nodes.get(name);
            if (node == null) {
                return fallback;
            }
            if (!node.isNumber()) {
                throw ApiProblem.invalidField(path(name), "must be a number, got " + node);
            }
            double value = node.asDouble();
            if (!Double.isFinite(value) || value < min || value > max) {
                throw ApiProblem.invalidField(path(name), "must be between " + min + " and " + max + ", got " + value);
            }
            return value;
        }

        boolean bool(String name, boolean fallback) {
            JsonNode node = nodes.get(name);
            if (node == null) {
                return fallback;
            }
            if (!node.isBoolean()) {
                throw ApiProblem.invalidField(path(name), "must be true or false, got " + node);
            }
            return node.asBoolean();
        }

        String choice(String name, String fallback, Set<String> allowed) {
            JsonNode node = nodes.get(name);
            if (node == null) {
                return fallback;
            }
            if (!node.isString() || !allowed.contains(node.asString())) {
                throw ApiProblem.invalidField(path(name), "must be one of " + new TreeSet<>(allowed) + ", got " + node);
            }
            return node.asString();
        }

        /** A {@code List<String>} of names, or one {@code String}: all-linear or a regex. */
        Object targetModules() {
            JsonNode node = nodes.get("target_modules");
            if (node == null) {
                return "all-linear";   // works for every model family; PEFT's per-family defaults differ
            }
            String path = path("target_modules");
            if (node.isString()) {
                return node.asString(); // a regex is compiled, length- and budget-checked by CoreConfigs.check
            }
            if (!node.isArray() || node.isEmpty()) {
                throw ApiProblem.invalidField(path, "must be a non-empty list of module names, 'all-linear' or a regex");
            }
            List<String> modules = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                JsonNode item = node.get(i);
                if (!item.isString() || !MODULE_NAME.matcher(item.asString()).matches()) {
                    throw ApiProblem.invalidField(path + "[" + i + "]", "not a module name: " + item);
                }
                modules.add(item.asString());
            }
            return List.copyOf(modules);
        }
    }
}
