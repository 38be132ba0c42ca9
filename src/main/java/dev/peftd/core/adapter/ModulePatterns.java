package dev.peftd.core.adapter;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Per-module overrides such as {@code rank_pattern} / {@code alpha_pattern}, matched the way PEFT 0.21 does
 * ({@code get_pattern_key}): the first key, in insertion order, for which {@code re.match(rf"(.*\.)?({key})$", module)}
 * succeeds wins.
 *
 * @param <V> the overriding value (an Integer rank or a Double alpha)
 */
public final class ModulePatterns<V> {

    private final Map<String, V> values;
    private final Map<String, Pattern> compiled = new LinkedHashMap<>();

    /**
     * @param field the config field name used in error messages, e.g. {@code rank_pattern}
     */
    public ModulePatterns(String field, Map<String, V> values) {
        this.values = values == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
        for (String key : this.values.keySet()) {
            try {
                compiled.put(key, Pattern.compile("(.*\\.)?(" + key + ")"));
            } catch (PatternSyntaxException e) {
                throw new AdapterConfigException(field + "['" + key + "']", "invalid regular expression: "
                        + e.getDescription());
            }
        }
    }

    public Map<String, V> asMap() {
        return values;
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** The override for {@code module}, or {@code fallback} when no key matches. */
    public V lookup(String module, V fallback) {
        for (Map.Entry<String, Pattern> e : compiled.entrySet()) {
            if (e.getValue().matcher(module).matches()) {
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
