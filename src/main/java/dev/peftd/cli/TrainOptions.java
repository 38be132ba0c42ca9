package dev.peftd.cli;

import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.train.MethodSettings;
import dev.peftd.core.train.TrainingConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The options of {@code train}. The method's settings are the API's hyperparameters by the same names with dashes
 * ({@code --lora-alpha} is {@code lora_alpha}), resolved by the core's {@link MethodSettings} with its defaults and
 * ranges; the older short forms ({@code --alpha}, {@code --lr}, …) are aliases. A method setting given for another
 * method is refused rather than ignored, so a typo in the method cannot go unnoticed.
 */
record TrainOptions(String model, Path data, Path out, MethodSettings settings, TrainingConfig training,
                    boolean packing, Path evalFile, double evalFraction, Path resume, boolean json,
                    ModelDtype dtype) {

    /** Short forms kept from before the options took the API's names. */
    private static final Map<String, String> ALIASES = Map.of(
            "alpha", MethodSettings.LORA_ALPHA,
            "dropout", MethodSettings.LORA_DROPOUT,
            "vera-seed", MethodSettings.PROJECTION_PRNG_KEY,
            "lr", MethodSettings.LEARNING_RATE,
            "steps", MethodSettings.MAX_STEPS,
            "epochs", MethodSettings.N_EPOCHS,
            "schedule", MethodSettings.LR_SCHEDULER,
            "grad-accum", MethodSettings.GRADIENT_ACCUMULATION_STEPS,
            "max-seq-len", MethodSettings.MAX_SEQ_LENGTH);

    /** The method settings' options that take a value, with their aliases; {@code compare} takes them too. */
    static final Set<String> SETTING_VALUED = Stream.concat(
            MethodSettings.NAMES.stream().filter(n -> !MethodSettings.SWITCHES.contains(n)).map(TrainOptions::option),
            ALIASES.keySet().stream()).collect(Collectors.toUnmodifiableSet());
    /** The method settings' switches. */
    static final Set<String> SETTING_FLAGS = MethodSettings.SWITCHES.stream().map(TrainOptions::option)
            .collect(Collectors.toUnmodifiableSet());

    static final Set<String> VALUED = Stream.concat(
            Stream.of("model", "data", "method", "out", "seed", "eval-file", "eval-fraction", "resume"),
            SETTING_VALUED.stream()).collect(Collectors.toUnmodifiableSet());
    static final Set<String> FLAGS = Stream.concat(Stream.of("packing", "json"), SETTING_FLAGS.stream())
            .collect(Collectors.toUnmodifiableSet());

    Method method() {
        return settings.method();
    }

    AdapterConfig adapter() {
        return settings.adapter();
    }

    int maxSeqLen() {
        return settings.maxSeqLength();
    }

    static TrainOptions parse(String[] args) throws UsageException {
        CliOptions o = CliOptions.parse(args, VALUED, FLAGS);
        Method method;
        try {
            method = Method.fromId(o.required("method"));
        } catch (AdapterConfigException e) {
            throw new UsageException("--" + e.getMessage());
        }
        Map<String, String> spelling = new HashMap<>();
        Map<String, String> given = settingsGiven(o, "", spelling);
        if (given.containsKey(MethodSettings.MAX_STEPS) && given.containsKey(MethodSettings.N_EPOCHS)) {
            throw new UsageException("give either --steps or --epochs, not both");
        }
        if (o.has("eval-file") && o.has("eval-fraction")) {
            throw new UsageException("give either --eval-file or --eval-fraction, not both");
        }
        MethodSettings settings;
        TrainingConfig training;
        try {
            settings = MethodSettings.parse(method, given, o.longValue("seed", 42));
            training = settings.training();
        } catch (InvalidSettingException e) {
            throw refused(e, spelling, "");
        }
        double evalFraction = o.number("eval-fraction", 0);
        if (o.has("eval-fraction") && !(evalFraction > 0 && evalFraction < 1)) {
            throw new UsageException("--eval-fraction: must lie strictly between 0 and 1, got " + evalFraction);
        }
        return new TrainOptions(o.required("model"), Path.of(o.required("data")), Path.of(o.required("out")),
                settings, training, o.flag("packing"),
                o.has("eval-file") ? Path.of(o.string("eval-file", null)) : null, evalFraction,
                o.has("resume") ? Path.of(o.string("resume", null)) : null, o.flag("json"), settings.dtype());
    }

    /** The factory's refusal as a usage error naming the option as the user spelled it. */
    static UsageException refused(InvalidSettingException e, Map<String, String> spelling, String prefix) {
        int bracket = e.field().indexOf('[');
        String name = bracket < 0 ? e.field() : e.field().substring(0, bracket);
        return new UsageException(spelling.getOrDefault(name, "--" + prefix + option(name)) + ": " + e.reason());
    }

    /**
     * The method settings on the command line by their API names, as text ({@code "true"} for a switch).
     *
     * @param prefix   what the options start with after the dashes ({@code ""}; {@code "vera."} for compare's
     *                 per-method settings)
     * @param spelling filled with how each was spelled ({@code --lr} or {@code --learning-rate}), for error messages
     */
    static Map<String, String> settingsGiven(CliOptions o, String prefix, Map<String, String> spelling)
            throws UsageException {
        Map<String, String> given = new LinkedHashMap<>();
        for (String name : MethodSettings.NAMES) {
            List<String> spellings = Stream.concat(Stream.of(option(name)), ALIASES.entrySet().stream()
                    .filter(a -> a.getValue().equals(name)).map(Map.Entry::getKey)).map(s -> prefix + s).toList();
            for (String s : spellings) {
                if (o.has(s)) {
                    if (given.containsKey(name)) {
                        throw new UsageException("--" + s + " and " + spelling.get(name) + " are the same option");
                    }
                    given.put(name, o.string(s, null));
                    spelling.put(name, "--" + s);
                }
            }
        }
        return given;
    }

    /** A setting's option name: {@code lora_alpha} → {@code lora-alpha}. */
    static String option(String setting) {
        return setting.replace('_', '-');
    }
}
