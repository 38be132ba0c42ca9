package dev.peftd.core.adapter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Plain LoRA (and the shared part of LoRA-FA, Delta-LoRA and LoRA+): {@code ΔW = s·B·A} with {@code s = alpha/r}, or
 * {@code alpha/√r} with rsLoRA. Per-module rank and alpha follow {@code rank_pattern} / {@code alpha_pattern}.
 *
 * @param r            rank (PEFT default 8)
 * @param alpha        {@code lora_alpha} (PEFT default 8)
 * @param dropout      {@code lora_dropout} on the low-rank branch input, in [0, 1)
 * @param useRslora    scale by {@code alpha/√r} instead of {@code alpha/r}
 * @param targetModules which linear layers to adapt
 * @param rankPattern  module pattern → rank
 * @param alphaPattern module pattern → alpha
 */
public record LoraConfig(int r, double alpha, double dropout, boolean useRslora, TargetModules targetModules,
                         ModulePatterns<Integer> rankPattern, ModulePatterns<Double> alphaPattern)
        implements AdapterConfig {

    public static final int DEFAULT_R = 8;
    public static final double DEFAULT_ALPHA = 8;

    public LoraConfig {
        requireRank("r", r);
        requirePositive("lora_alpha", alpha);
        if (!(dropout >= 0 && dropout < 1)) {
            throw new AdapterConfigException("lora_dropout", "must be in [0, 1), got " + dropout);
        }
        if (targetModules == null) {
            throw new AdapterConfigException("target_modules", "is required");
        }
        rankPattern = rankPattern == null ? new ModulePatterns<>("rank_pattern", Map.of()) : rankPattern;
        alphaPattern = alphaPattern == null ? new ModulePatterns<>("alpha_pattern", Map.of()) : alphaPattern;
        rankPattern.asMap().forEach((k, v) -> requireRank("rank_pattern['" + k + "']", v == null ? 0 : v));
        alphaPattern.asMap().forEach((k, v) -> requirePositive("alpha_pattern['" + k + "']", v == null ? 0 : v));
    }

    /** LoRA with PEFT's defaults for dropout, rsLoRA and patterns. */
    public static LoraConfig of(int r, double alpha, TargetModules targetModules) {
        return new LoraConfig(r, alpha, 0.0, false, targetModules, null, null);
    }

    /** Builds the pattern maps with their validation (keys are regexes). */
    public static LoraConfig withPatterns(int r, double alpha, double dropout, boolean useRslora, TargetModules targets,
                                          Map<String, Integer> rankPattern, Map<String, Double> alphaPattern) {
        return new LoraConfig(r, alpha, dropout, useRslora, targets,
                new ModulePatterns<>("rank_pattern", rankPattern), new ModulePatterns<>("alpha_pattern", alphaPattern));
    }

    public LoraConfig withDropout(double newDropout) {
        return new LoraConfig(r, alpha, newDropout, useRslora, targetModules, rankPattern, alphaPattern);
    }

    public LoraConfig withRslora(boolean rslora) {
        return new LoraConfig(r, alpha, dropout, rslora, targetModules, rankPattern, alphaPattern);
    }

    public int rankFor(String module) {
        return rankPattern.lookup(module, r);
    }

    public double alphaFor(String module) {
        return alphaPattern.lookup(module, alpha);
    }

    /** The module's scaling {@code s}: {@code alpha/r}, or {@code alpha/√r} with rsLoRA (PEFT's {@code update_layer}). */
    public double scalingFor(String module) {
        int rank = rankFor(module);
        double a = alphaFor(module);
        return useRslora ? a / Math.sqrt(rank) : a / rank;
    }

    @Override
    public Method method() {
        return Method.LORA;
    }

    @Override
    public LoraConfig lora() {
        return this;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("r", r);
        h.put("lora_alpha", alpha);
        h.put("lora_dropout", dropout);
        h.put("use_rslora", useRslora);
        h.put("target_modules", targetModules.toPeftJson());
        h.put("rank_pattern", rankPattern.asMap());
        h.put("alpha_pattern", alphaPattern.asMap());
        return h;
    }

    static void requireRank(String field, int value) {
        if (value < 1) {
            throw new AdapterConfigException(field, "rank must be ≥ 1, got " + value);
        }
    }

    static void requirePositive(String field, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new AdapterConfigException(field, "must be a finite number > 0, got " + value);
        }
    }
}
