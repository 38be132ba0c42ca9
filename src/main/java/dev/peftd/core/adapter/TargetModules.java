package dev.peftd.core.adapter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Which linear layers an adapter wraps, with PEFT's {@code target_modules} semantics: a list of names (a module
 * matches when its full name equals an entry or ends with {@code "." + entry}), one regular expression (must match the
 * whole module name), or {@code all-linear} (every linear layer except the output head).
 */
public final class TargetModules {

    /** PEFT's keyword for "every linear layer except the output head". */
    public static final String ALL_LINEAR = "all-linear";

    /**
     * Module names of the supported families (Llama, Mistral, Qwen2: {@code model.layers.N.…}; GPT-2:
     * {@code transformer.h.N.…}) with wide layer numbers, for checking a regex before the model's own names are at hand.
     */
    private static final List<String> TYPICAL_MODULES = List.of(
            "model.layers.127.self_attn.q_proj", "model.layers.127.self_attn.o_proj", "model.layers.127.mlp.gate_proj",
            "model.layers.127.mlp.down_proj", "transformer.h.47.attn.c_attn", "transformer.h.47.mlp.c_proj", "lm_head");

    private final List<String> names;
    private final UserRegex regex;
    private final boolean allLinear;

    private TargetModules(List<String> names, UserRegex regex, boolean allLinear) {
        this.names = names;
        this.regex = regex;
        this.allLinear = allLinear;
    }

    /** Names or suffixes, e.g. {@code q_proj, v_proj} or {@code model.layers.0.mlp.up_proj}. */
    public static TargetModules names(Collection<String> names) {
        if (names == null || names.isEmpty()) {
            throw new AdapterConfigException("target_modules", "is empty; name at least one module, a regex or all-linear");
        }
        for (String n : names) {
            if (n == null || n.isBlank()) {
                throw new AdapterConfigException("target_modules", "contains a blank module name");
            }
        }
        return new TargetModules(List.copyOf(names), null, false);
    }

    /**
     * A Python/Java regular expression that must match the whole module name (PEFT: {@code re.fullmatch}), guarded
     * by {@link UserRegex}: matching a module that would take it too long throws {@link AdapterConfigException}.
     */
    public static TargetModules regex(String regex) {
        return new TargetModules(List.of(), UserRegex.compile("target_modules", regex), false);
    }

    public static TargetModules allLinear() {
        return new TargetModules(List.of(), null, true);
    }

    /** Parses the command-line form: {@code all-linear}, or a comma-separated list of names. */
    public static TargetModules parse(String text) {
        if (text == null || text.isBlank()) {
            throw new AdapterConfigException("target_modules", "is empty");
        }
        if (text.strip().equals(ALL_LINEAR)) {
            return allLinear();
        }
        List<String> parts = new ArrayList<>();
        for (String p : text.split(",")) {
            if (!p.isBlank()) {
                parts.add(p.strip());
            }
        }
        return names(parts);
    }

    public boolean isAllLinear() {
        return allLinear;
    }

    /** The regex, or {@code null} when this is a list or all-linear. */
    public String regexOrNull() {
        return regex == null ? null : regex.source();
    }

    /** The listed names; empty for a regex or all-linear. */
    public List<String> nameList() {
        return names;
    }

    /**
     * Evaluates a regex on typical module names, so that one which exhausts its step budget is refused where it is
     * submitted rather than when a worker first applies it to the model (which would fail the same way).
     *
     * @throws AdapterConfigException naming target_modules when it does
     */
    public void requireEvaluable() {
        requireEvaluable(TYPICAL_MODULES);
    }

    /** The same on the model's own module names (what the worker will match), when they are known at submission. */
    public void requireEvaluable(Collection<String> modules) {
        if (regex != null) {
            modules.forEach(regex::matches);
        }
    }

    public boolean matches(String module, String outputHead) {
        if (allLinear) {
            return !module.equals(outputHead);
        }
        if (regex != null) {
            return regex.matches(module);
        }
        for (String n : names) {
            if (module.equals(n) || module.endsWith("." + n)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The modules of {@code linearNames} this selects, in the model's order.
     *
     * @param outputHead the output head's module name ({@code lm_head}), excluded by {@code all-linear}
     * @throws AdapterConfigException when nothing matches
     */
    public List<String> select(Collection<String> linearNames, String outputHead) {
        List<String> selected = new ArrayList<>();
        for (String name : linearNames) {
            if (matches(name, outputHead)) {
                selected.add(name);
            }
        }
        if (selected.isEmpty()) {
            List<String> examples = linearNames.stream().limit(4).toList();
            throw new AdapterConfigException("target_modules", describe() + " matches none of the model's "
                    + linearNames.size() + " linear layers (e.g. " + String.join(", ", examples) + ")");
        }
        return selected;
    }

    /** How it is written in PEFT's adapter_config.json: a list, a string regex or "all-linear". */
    public Object toPeftJson() {
        if (allLinear) {
            return ALL_LINEAR;
        }
        return regex != null ? regex.source() : names;
    }

    public String describe() {
        if (allLinear) {
            return ALL_LINEAR;
        }
        return regex != null ? "regex '" + regex.source() + "'" : names.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TargetModules t && t.allLinear == allLinear && t.names.equals(names)
                && String.valueOf(t.regexOrNull()).equals(String.valueOf(regexOrNull()));
    }

    @Override
    public int hashCode() {
        return names.hashCode() * 31 + String.valueOf(regexOrNull()).hashCode() + (allLinear ? 1 : 0);
    }

    @Override
    public String toString() {
        return describe();
    }
}
