package dev.peftd.cli;

import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.train.MethodSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The options of {@code compare}. A method setting without a prefix ({@code --r 8}, {@code --lr 3e-3}) is shared: it
 * goes to every compared method it applies to ({@code --lora-alpha} skips VeRA, which has no scaling). With a
 * method's id and a dot in front ({@code --vera.r 64}, {@code --lora_plus.lr 1e-3}) it is that method's override and
 * wins over the shared value. Names, aliases, defaults and ranges are {@code train}'s: every run's settings come from
 * the core's {@link MethodSettings}, the factory {@code train} and the API use.
 *
 * @param runs every run to train: each method's settings once per seed, seed by seed (all methods of the first seed
 *             first, so an interrupted comparison still compares)
 */
record CompareOptions(String model, Path data, Path evalFile, Path out, boolean json, List<Method> methods,
                      List<Long> seeds, List<MethodSettings> runs) {

    private static final List<String> OWN_VALUED = List.of("model", "data", "eval-file", "methods", "out", "seeds",
            "seed");
    static final Set<String> VALUED = Stream.of(OWN_VALUED.stream(), TrainOptions.SETTING_VALUED.stream(),
            perMethod(TrainOptions.SETTING_VALUED)).flatMap(s -> s).collect(Collectors.toUnmodifiableSet());
    static final Set<String> FLAGS = Stream.of(Stream.of("json"), TrainOptions.SETTING_FLAGS.stream(),
            perMethod(TrainOptions.SETTING_FLAGS)).flatMap(s -> s).collect(Collectors.toUnmodifiableSet());
    static final int MAX_SEEDS = 20;
    /** Settings every method shares: they fix the batches each run sees. */
    private static final List<String> BUDGET = List.of(MethodSettings.MAX_STEPS, MethodSettings.N_EPOCHS,
            MethodSettings.BATCH_SIZE, MethodSettings.GRADIENT_ACCUMULATION_STEPS, MethodSettings.MAX_SEQ_LENGTH);

    private static Stream<String> perMethod(Set<String> options) {
        return Arrays.stream(Method.values()).flatMap(m -> options.stream().map(o -> m.id() + "." + o));
    }

    static CompareOptions parse(String[] args) throws UsageException {
        CliOptions o = CliOptions.parse(args, VALUED, FLAGS);
        if (!o.has("eval-file")) {
            throw new UsageException("--eval-file is required: every method is scored on the same held-out records");
        }
        List<Method> methods = methods(o.string("methods", Arrays.stream(Method.values()).map(Method::id)
                .collect(Collectors.joining(","))));
        Map<String, String> spelling = new HashMap<>();
        Map<String, String> shared = TrainOptions.settingsGiven(o, "", spelling);
        for (String name : shared.keySet()) {
            if (methods.stream().noneMatch(m -> MethodSettings.appliesTo(name, m))) {
                throw new UsageException(spelling.get(name) + " applies to none of the compared methods ("
                        + ids(methods) + ")");
            }
        }
        int seedCount = o.integer("seeds", 1);
        if (seedCount < 1 || seedCount > MAX_SEEDS) {
            throw new UsageException("--seeds: must lie in [1, " + MAX_SEEDS + "], got " + seedCount);
        }
        long firstSeed = o.longValue("seed", 42);
        List<Long> seeds = new ArrayList<>();
        for (int i = 0; i < seedCount; i++) {
            seeds.add(firstSeed + i);
        }
        Map<Method, Map<String, String>> given = new LinkedHashMap<>();
        Map<Method, Map<String, String>> spellings = new LinkedHashMap<>();
        for (Method m : Method.values()) {
            Map<String, String> own = new HashMap<>();
            Map<String, String> override = TrainOptions.settingsGiven(o, m.id() + ".", own);
            for (String name : BUDGET) {
                if (override.containsKey(name)) {
                    throw new UsageException(own.get(name) + ": the budget is shared by every method (give --"
                            + TrainOptions.option(name) + " once), so that all see the same batches");
                }
            }
            if (!methods.contains(m)) {
                if (!override.isEmpty()) {
                    throw new UsageException(own.values().iterator().next() + ": method " + m.id()
                            + " is not among --methods (" + ids(methods) + ")");
                }
                continue;
            }
            Map<String, String> settings = new LinkedHashMap<>();
            shared.forEach((name, value) -> {
                if (MethodSettings.appliesTo(name, m)) {
                    settings.put(name, value);
                }
            });
            settings.putAll(override);
            Map<String, String> spelled = new HashMap<>(spelling);
            spelled.putAll(own);
            given.put(m, settings);
            spellings.put(m, spelled);
        }
        List<MethodSettings> runs = new ArrayList<>();
        for (long seed : seeds) {
            for (Method m : methods) {
                runs.add(resolve(m, given.get(m), spellings.get(m), seed, o));
            }
        }
        return new CompareOptions(o.required("model"), Path.of(o.required("data")), Path.of(o.required("eval-file")),
                Path.of(o.required("out")), o.flag("json"), methods, List.copyOf(seeds), List.copyOf(runs));
    }

    /**
     * One method at one seed; evaluates every tenth of the steps unless {@code --eval-every} says otherwise, each
     * time on the whole eval file unless {@code --eval-samples} says otherwise (the curve compares like with like).
     */
    private static MethodSettings resolve(Method m, Map<String, String> given, Map<String, String> spelling, long seed,
                                          CliOptions o) throws UsageException {
        if (given.containsKey(MethodSettings.MAX_STEPS) && given.containsKey(MethodSettings.N_EPOCHS)) {
            throw new UsageException("give either --steps or --epochs, not both");
        }
        try {
            int steps = MethodSettings.parse(m, given, seed).training().steps();
            Map<String, String> withEval = new LinkedHashMap<>(given);
            withEval.putIfAbsent(MethodSettings.EVAL_EVERY, String.valueOf(steps > 0 ? Math.max(1, steps / 10) : 0));
            withEval.putIfAbsent(MethodSettings.EVAL_SAMPLES, "1000000");
            return MethodSettings.parse(m, withEval, seed);
        } catch (InvalidSettingException e) {
            throw TrainOptions.refused(e, spelling, m.id() + ".");
        }
    }

    private static List<Method> methods(String list) throws UsageException {
        Set<Method> methods = new LinkedHashSet<>();
        for (String id : list.split(",")) {
            Method m;
            try {
                m = Method.fromId(id.strip());
            } catch (AdapterConfigException e) {
                throw new UsageException("--methods: '" + id.strip() + "' is not a method; known: "
                        + ids(List.of(Method.values())));
            }
            if (!methods.add(m)) {
                throw new UsageException("--methods: " + m.id() + " is listed twice");
            }
        }
        return List.copyOf(methods);
    }

    private static String ids(List<Method> methods) {
        return methods.stream().map(Method::id).collect(Collectors.joining(","));
    }

    /** The shared budget, for the report: what every run had in common. */
    Map<String, Object> budget() {
        Map<String, Object> values = runs.get(0).values();
        Map<String, Object> b = new LinkedHashMap<>();
        for (String name : BUDGET) {
            if (values.containsKey(name)) {
                b.put(name, values.get(name));
            }
        }
        b.put("seeds", seeds);
        return b;
    }
}
