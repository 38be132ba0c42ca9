package dev.peftd.core.adapter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-module overrides such as {@code rank_pattern} / {@code alpha_pattern}, matched the way PEFT 0.21 does
 * ({@code get_pattern_key}): the first key, in insertion order, for which {@code re.match(rf"(.*\.)?({key})$", module)}
 * succeeds wins. Keys are user regexes, compiled and matched through {@link UserRegex}; one step budget covers all
 * the keys tried for one module.
 *
 * @param <V> the overriding value (an Integer rank or a Double alpha)
 */
public final class ModulePatterns<V> {

    private final Map<String, V> values;
    private final Map<String, UserRegex> compiled = new LinkedHashMap<>();

    /**
     * @param field the config field name used in error messages, e.g. {@code rank_pattern}
     */
    public ModulePatterns(String field, Map<String, V> values) {
        this.values = values == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
        for (String key : this.values.keySet()) {
            compiled.put(key, UserRegex.compile(field + "['" + key + "']", key, "(.*\\.)?(", ")"));
        }
    }

    public Map<String, V> asMap() {
        return values;
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /**
     * The override for {@code module}, or {@code fallback} when no key matches.
     *
     * @throws AdapterConfigException naming the key when the keys tried exhaust the module's step budget
     */
    public V lookup(String module, V fallback) {
        UserRegex.Budget budget = new UserRegex.Budget();
        for (Map.Entry<String, UserRegex> e : compiled.entrySet()) {
            if (e.getValue().matches(module, budget)) {
                return values.get(e.getKey());
            }
        }
        return fallback;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModulePatterns<?> p && p.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
