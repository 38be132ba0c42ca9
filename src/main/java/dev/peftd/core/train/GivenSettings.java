package dev.peftd.core.train;

import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.TargetModules;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The settings a caller gave, read one at a time with a fallback and a range, each resolved value recorded in the
 * order it is read. Values come typed (from JSON: numbers, booleans, strings, lists) or as text (from a command
 * line: {@code "8"}, {@code "true"}, {@code "q_proj,v_proj"}); text is parsed, typed values are never coerced, so
 * {@code "r": "8"} in JSON is refused as it always was. Every refusal is an {@link InvalidSettingException} naming the
 * setting.
 */
final class GivenSettings {

    private static final Pattern MODULE_NAME = Pattern.compile("[A-Za-z0-9_.\\-]{1,200}");

    private final Map<String, ?> given;
    private final boolean text;
    private final Map<String, Object> resolved = new LinkedHashMap<>();

    GivenSettings(Map<String, ?> given, boolean text) {
        this.given = given;
        this.text = text;
    }

    Iterable<String> names() {
        return given.keySet();
    }

    boolean has(String name) {
        return given.containsKey(name);
    }

    /** The resolved values in the order they were read. */
    Map<String, Object> resolved() {
        return resolved;
    }

    void record(String name, Object value) {
        resolved.put(name, value);
    }

    int integer(String name, int fallback, int min, int max) {
        int value = (int) longInteger(name, fallback, min, max);
        record(name, value);
        return value;
    }

    long longValue(String name, long fallback, long min, long max) {
        long value = longInteger(name, fallback, min, max);
        record(name, value);
        return value;
    }

    private long longInteger(String name, long fallback, long min, long max) {
        if (!has(name)) {
            return fallback;
        }
        Object raw = given.get(name);
        long value;
        if (text && raw instanceof String s) {
            try {
                value = Long.parseLong(s.strip());
            } catch (NumberFormatException e) {
                throw new InvalidSettingException(name, "'" + s + "' is not an integer");
            }
        } else if (raw instanceof Integer || raw instanceof Long || raw instanceof Short || raw instanceof Byte
                || raw instanceof BigInteger b && b.bitLength() < 64) {
            value = ((Number) raw).longValue();
        } else {
            throw new InvalidSettingException(name, "must be an integer, got " + show(raw));
        }
        if (value < min || value > max) {
            throw new InvalidSettingException(name, "must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }

    double decimal(String name, double fallback, double min, double max) {
        double value = unrecordedDecimal(name, fallback, min, max);
        record(name, value);
        return value;
    }

    /** A number that only shapes another setting (e.g. {@code learning_rate_multiplier}) and is not resolved itself. */
    double unrecordedDecimal(String name, double fallback, double min, double max) {
        if (!has(name)) {
            return fallback;
        }
        Object raw = given.get(name);
        double value;
        if (text && raw instanceof String s) {
            try {
                value = Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                value = Double.NaN;
            }
            if (!Double.isFinite(value)) {
                throw new InvalidSettingException(name, "'" + s + "' is not a finite number");
            }
        } else if (raw instanceof Number n) {
            value = n.doubleValue();
        } else {
            throw new InvalidSettingException(name, "must be a number, got " + show(raw));
        }
        if (!Double.isFinite(value) || value < min || value > max) {
            throw new InvalidSettingException(name, "must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }

    boolean bool(String name, boolean fallback) {
        boolean value = fallback;
        if (has(name)) {
            Object raw = given.get(name);
            if (raw instanceof Boolean b) {
                value = b;
            } else if (text && ("true".equals(raw) || "false".equals(raw))) {
                value = Boolean.parseBoolean((String) raw);
            } else {
                throw new InvalidSettingException(name, "must be true or false, got " + show(raw));
            }
        }
        record(name, value);
        return value;
    }

    String choice(String name, String fallback, List<String> allowed) {
        String value = fallback;
        if (has(name)) {
            Object raw = given.get(name);
            if (!(raw instanceof String s) || !allowed.contains(s)) {
                throw new InvalidSettingException(name, "must be one of " + allowed + ", got " + show(raw));
            }
            value = s;
        }
        record(name, value);
        return value;
    }

    /**
     * {@code target_modules}: {@code "all-linear"}, a list of module names or suffixes, or (typed only) one string
     * that is a regular expression. On a command line a list is comma-separated.
     */
    TargetModules targetModules(String name) {
        Object value = has(name) ? given.get(name) : TargetModules.ALL_LINEAR;
        if (text && value instanceof String s && !s.strip().equals(TargetModules.ALL_LINEAR)) {
            value = List.of(s.split(",", -1)).stream().map(String::strip).filter(p -> !p.isEmpty()).toList();
        }
        TargetModules targets;
        if (value instanceof String s) {
            // a regex is compiled and length-checked here; its step budget is checked where it is submitted
            targets = s.equals(TargetModules.ALL_LINEAR) ? TargetModules.allLinear() : TargetModules.regex(s);
        } else if (value instanceof List<?> list && !list.isEmpty()) {
            List<String> modules = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof String module) || !MODULE_NAME.matcher(module).matches()) {
                    throw new InvalidSettingException(name + "[" + i + "]", "not a module name: " + show(list.get(i)));
                }
                modules.add(module);
            }
            value = List.copyOf(modules);
            targets = TargetModules.names(modules);
        } else {
            throw new InvalidSettingException(name, "must be a non-empty list of module names, 'all-linear' or a regex");
        }
        record(name, value);
        return targets;
    }

    private static String show(Object raw) {
        return raw instanceof String s ? "\"" + s + "\"" : String.valueOf(raw);
    }
}
