package dev.peftd.comparisons;

import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.train.MethodSettings;
import dev.peftd.kernel.Refusal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * What a comparison request asks for, checked for its own shape: the methods (default all five), the budget every
 * method shares (steps or epochs, batch size, sequence length), each method's overrides and the seeds. Each child's
 * {@code method} body is the budget plus that method's overrides, which the job feature resolves through the one
 * settings factory; {@link #readdress} turns a refusal of a child's setting back into the comparison's own field
 * ({@code overrides.vera.r}, {@code steps}).
 *
 * @param budget    the shared settings by the core's names ({@code max_steps} or {@code n_epochs}, {@code batch_size},
 *                  {@code max_seq_length}), only those given
 * @param overrides per method, the settings given for it alone
 */
record ComparisonPlan(List<Method> methods, Map<String, Object> budget, Map<String, ObjectNode> overrides, int seeds,
                      long seed) {

    /** Enough for error bars; the tenant's job limit bounds methods × seeds as well. */
    static final int MAX_SEEDS = 10;

    /** The budget's names in the request and the core's names they set. */
    private static final Map<String, String> BUDGET = budgetNames();
    private static final String METHODS = Arrays.stream(Method.values()).map(Method::id)
            .collect(Collectors.joining(", "));

    private static Map<String, String> budgetNames() {
        Map<String, String> names = new LinkedHashMap<>();
        names.put("steps", MethodSettings.MAX_STEPS);
        names.put("epochs", MethodSettings.N_EPOCHS);
        names.put("batch_size", MethodSettings.BATCH_SIZE);
        names.put("max_seq_length", MethodSettings.MAX_SEQ_LENGTH);
        return java.util.Collections.unmodifiableMap(names);
    }

    ComparisonPlan {
        methods = List.copyOf(methods);
        budget = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(budget));
        overrides = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /** The request's fields that define the plan, as the API names them. */
    record Given(List<String> methods, Integer steps, Integer epochs, Integer batchSize, Integer maxSeqLength,
                 JsonNode overrides, Integer seeds, long seed) {
    }

    static ComparisonPlan of(Given given) {
        List<Method> methods = methods(given.methods());
        if (given.steps() != null && given.epochs() != null) {
            throw Refusal.invalidField("epochs", "give steps or epochs, not both: the budget is one of them");
        }
        Map<String, Object> budget = new LinkedHashMap<>();
        putIfGiven(budget, "steps", given.steps());
        putIfGiven(budget, "epochs", given.epochs());
        putIfGiven(budget, "batch_size", given.batchSize());
        putIfGiven(budget, "max_seq_length", given.maxSeqLength());
        int seeds = given.seeds() == null ? 1 : given.seeds();
        if (seeds < 1 || seeds > MAX_SEEDS) {
            throw Refusal.invalidField("seeds", "must be between 1 and " + MAX_SEEDS + ", got " + seeds);
        }
        if (given.seed() < 0 || given.seed() + seeds - 1 > Integer.MAX_VALUE) {
            throw Refusal.invalidField("seed", "must be between 0 and " + (Integer.MAX_VALUE - seeds + 1));
        }
        return new ComparisonPlan(methods, budget, overrides(given.overrides(), methods), seeds, given.seed());
    }

    private static void putIfGiven(Map<String, Object> budget, String name, Integer value) {
        if (value != null) {
            budget.put(BUDGET.get(name), value);
        }
    }

    private static List<Method> methods(List<String> names) {
        if (names == null) {
            return List.of(Method.values());
        }
        if (names.isEmpty()) {
            throw Refusal.invalidField("methods", "empty; name at least one of " + METHODS + " (or leave it out for all)");
        }
        List<Method> methods = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            String field = "methods[" + i + "]";
            Method method = Arrays.stream(Method.values()).filter(m -> m.id().equals(name)).findFirst().orElseThrow(
                    () -> Refusal.invalidField(field, "unknown method '" + name + "'; one of " + METHODS));
            if (methods.contains(method)) {
                throw Refusal.invalidField(field, "'" + name + "' is listed twice");
            }
            methods.add(method);
        }
        return methods;
    }

    private static Map<String, ObjectNode> overrides(JsonNode overrides, List<Method> methods) {
        Map<String, ObjectNode> byMethod = new LinkedHashMap<>();
        if (overrides == null || overrides.isNull()) {
            return byMethod;
        }
        if (!overrides.isObject()) {
            throw Refusal.invalidField("overrides", "must be an object like {\"vera\": {\"r\": 64}}");
        }
        Set<String> compared = methods.stream().map(Method::id).collect(Collectors.toSet());
        for (Map.Entry<String, JsonNode> entry : overrides.properties()) {
            String method = entry.getKey();
            if (!compared.contains(method)) {
                throw Refusal.invalidField("overrides." + method, "not one of the compared methods ("
                        + methods.stream().map(Method::id).collect(Collectors.joining(", ")) + ")");
            }
            if (!entry.getValue().isObject()) {
                throw Refusal.invalidField("overrides." + method, "must be an object of settings, e.g. {\"r\": 64}");
            }
            for (String name : new HashSet<>(entry.getValue().propertyNames())) {
                if (BUDGET.containsValue(name) || BUDGET.containsKey(name)) {
                    throw Refusal.invalidField("overrides." + method + "." + name, "the budget is shared by every "
                            + "method; set steps or epochs, batch_size and max_seq_length at the top level");
                }
            }
            byMethod.put(method, (ObjectNode) entry.getValue());
        }
        return byMethod;
    }

    /** The {@code method} body of one child, as the jobs API takes it: the budget plus the method's overrides. */
    JsonNode childMethod(Method method, JsonMapper json) {
        ObjectNode hyperparameters = json.createObjectNode();
        budget.forEach((name, value) -> hyperparameters.put(name, ((Number) value).intValue()));
        ObjectNode own = overrides.get(method.id());
        if (own != null) {
            hyperparameters.setAll(own);
        }
        ObjectNode body = json.createObjectNode();
        body.put("type", method.id());
        body.putObject(method.id()).set("hyperparameters", hyperparameters);
        return body;
    }

    /**
     * A child's refused setting ({@code method.vera.hyperparameters.r}) addressed as the comparison request names it:
     * {@code overrides.vera.r} when the method's overrides gave it, the budget's name ({@code steps}) when the budget
     * did.
     */
    InvalidSettingException readdress(Method method, InvalidSettingException refused) {
        String prefix = "method." + method.id() + ".hyperparameters.";
        if (!refused.field().startsWith(prefix)) {
            return refused;
        }
        String rest = refused.field().substring(prefix.length());
        int bracket = rest.indexOf('[');
        String name = bracket < 0 ? rest : rest.substring(0, bracket);
        ObjectNode own = overrides.get(method.id());
        if ((own == null || !own.has(name)) && BUDGET.containsValue(name)) {
            String budgetName = BUDGET.entrySet().stream().filter(e -> e.getValue().equals(name))
                    .map(Map.Entry::getKey).findFirst().orElseThrow();
            return refused.at(budgetName + rest.substring(name.length()));
        }
        return refused.at("overrides." + method.id() + "." + rest);
    }

    /** The runs in queue order: every method at the first seed, then every method at the next, … */
    List<Run> runs() {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < seeds; i++) {
            for (Method method : methods) {
                runs.add(new Run(method, seed + i));
            }
        }
        return runs;
    }

    /** One child: a method at a seed. */
    record Run(Method method, long seed) {
    }

    /** The budget as the API names it (for views and the report). */
    Map<String, Object> budgetByApiName() {
        Map<String, Object> named = new LinkedHashMap<>();
        BUDGET.forEach((api, core) -> {
            if (budget.containsKey(core)) {
                named.put(api, budget.get(core));
            }
        });
        return named;
    }
}
