package dev.peftd.job;

import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.train.MethodSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;

/**
 * Reads {@code method} (and OpenAI's deprecated top-level {@code hyperparameters}) from a create request into a
 * {@link TrainingMethod}: the JSON's shape is checked here, the values go by name to the core's
 * {@link MethodSettings}, which fills the defaults and checks every value. A refusal names the JSON path of the
 * field and why, e.g. {@code method.lora.hyperparameters.r: must be between 1 and 1024, got 0}; it leaves as an
 * {@link InvalidSettingException} for the web edge to render.
 */
final class MethodParser {

    /** OpenAI's name for plain supervised fine-tuning; here it means LoRA (and is shown back as asked). */
    static final String SUPERVISED = "supervised";
    private static final String METHODS = Arrays.stream(Method.values()).map(Method::id)
            .collect(Collectors.joining(", ")) + ", " + SUPERVISED;
    private static final Set<String> OPENAI_TOP_LEVEL = Set.of(MethodSettings.BATCH_SIZE,
            MethodSettings.LEARNING_RATE_MULTIPLIER, MethodSettings.N_EPOCHS);

    private final int defaultCheckpointEvery;

    /** @param defaultCheckpointEvery the service's {@code checkpoint_every} when a job gives none */
    MethodParser(int defaultCheckpointEvery) {
        this.defaultCheckpointEvery = defaultCheckpointEvery;
    }

    TrainingMethod parse(JsonNode method, JsonNode topLevelHyperparameters) {
        Method type = Method.LORA;
        String apiName = Method.LORA.id();
        JsonNode hp = null;
        if (method != null && !method.isNull()) {
            if (!method.isObject()) {
                throw new InvalidSettingException("method", "must be an object like {\"type\":\"lora\",\"lora\":{…}}");
            }
            JsonNode typeNode = method.get("type");
            if (typeNode == null || !typeNode.isString()) {
                throw new InvalidSettingException("method.type", "missing; one of " + METHODS);
            }
            apiName = typeNode.asString();
            type = methodNamed(apiName);
            JsonNode section = method.get(apiName);
            if (section != null && !section.isNull()) {
                if (!section.isObject()) {
                    throw new InvalidSettingException("method." + apiName, "must be an object with \"hyperparameters\"");
                }
                hp = section.get("hyperparameters");
            }
        }
        Given given = new Given("method." + apiName + ".hyperparameters");
        if (topLevelHyperparameters != null && !topLevelHyperparameters.isNull()) {
            given.addAll(topLevelHyperparameters, "hyperparameters", OPENAI_TOP_LEVEL);
        }
        if (hp != null && !hp.isNull()) {
            given.addAll(hp, given.prefix, null);
        }
        given.values.putIfAbsent(MethodSettings.CHECKPOINT_EVERY, defaultCheckpointEvery);
        try {
            return new TrainingMethod(type.id(), MethodSettings.resolve(type, given.values, 0).values(), apiName);
        } catch (InvalidSettingException e) {
            throw e.at(given.path(e.field()));
        }
    }

    private static Method methodNamed(String apiName) {
        if (SUPERVISED.equals(apiName)) {
            return Method.LORA;
        }
        return Arrays.stream(Method.values()).filter(m -> m.id().equals(apiName)).findFirst().orElseThrow(() ->
                new InvalidSettingException("method.type", "unknown method '" + apiName + "'; one of " + METHODS));
    }

    /**
     * The given values by name, with the JSON path each came from; {@code "auto"} means the default (OpenAI's), except
     * for {@code dtype}, whose {@code auto} is a value of its own: the checkpoint's type.
     */
    private static final class Given {
        final String prefix;
        final Map<String, Object> values = new LinkedHashMap<>();
        final Map<String, String> paths = new HashMap<>();

        Given(String prefix) {
            this.prefix = prefix;
        }

        /** @param allowed the names this object may hold; {@code null}: the core decides */
        void addAll(JsonNode object, String path, Set<String> allowed) {
            if (!object.isObject()) {
                throw new InvalidSettingException(path, "must be an object");
            }
            for (Map.Entry<String, JsonNode> field : object.properties()) {
                String name = field.getKey();
                if (allowed != null && !allowed.contains(name)) {
                    throw new InvalidSettingException(path + "." + name,
                            "unknown hyperparameter; known: " + String.join(", ", new TreeSet<>(allowed)));
                }
                JsonNode value = field.getValue();
                if (value.isString() && value.asString().equals("auto") && !name.equals(MethodSettings.DTYPE)) {
                    continue;
                }
                values.put(name, plain(value));
                paths.put(name, path + "." + name);
            }
        }

        /** The JSON path of a setting the core names, e.g. {@code target_modules[1]}. */
        String path(String field) {
            int bracket = field.indexOf('[');
            String name = bracket < 0 ? field : field.substring(0, bracket);
            return paths.getOrDefault(name, prefix + "." + name) + field.substring(name.length());
        }

        /** Scalars and lists as Java values; anything else stays a node, which the core refuses by its JSON text. */
        private static Object plain(JsonNode node) {
            if (node.isIntegralNumber()) {
                return node.numberValue();
            }
            if (node.isNumber()) {
                return node.doubleValue();
            }
            if (node.isBoolean()) {
                return node.booleanValue();
            }
            if (node.isString()) {
                return node.asString();
            }
            if (node.isArray()) {
                List<Object> items = new ArrayList<>();
                for (int i = 0; i < node.size(); i++) {
                    items.add(plain(node.get(i)));
                }
                return items;
            }
            return node;
        }
    }
}
