package dev.peftd.core.train;

import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.train.optim.LrSchedule;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The one place where a method's settings are named, defaulted and range-checked: a method and the settings a
 * caller gave by name (the API's snake_case names; the command line's options are the same names with dashes)
 * become a validated {@link AdapterConfig} and {@link TrainingConfig}. The API and the {@code train} command both
 * resolve through here, so the same method with the same settings gives the same adapter either way.
 *
 * <p>Defaults are PEFT's where PEFT has one ({@code r} 8, {@code lora_alpha} 8, VeRA's {@code r} 256 and
 * {@code d_initial} 0.1, LoRA+'s ratio 16 from PEFT's docs) and the HF Trainer's for the loop (linear schedule,
 * {@code max_grad_norm} 1.0, no weight decay); the learning rate, which PEFT leaves to the Trainer, is 2e-4, and
 * 2e-3 for VeRA, which trains only scaling vectors and needs about ten times LoRA's rate (PEFT's benchmark runs VeRA
 * at 10x LoRA's).
 *
 * @param dtype  the type the frozen base is loaded in for the run (auto unless given: the checkpoint's type where
 *               the worker's device computes it, else float32; adapters, optimizer state and the loss stay float32
 *               on any base)
 * @param values every resolved setting that applies to the method, by name, in a fixed order: what a job records
 *               and shows, and which resolves again to the same configs
 */
public record MethodSettings(Method method, AdapterConfig adapter, TrainingConfig training, int maxSeqLength,
                             ModelDtype dtype, Map<String, Object> values) {

    public static final String R = "r";
    public static final String LORA_ALPHA = "lora_alpha";
    public static final String LORA_DROPOUT = "lora_dropout";
    public static final String TARGET_MODULES = "target_modules";
    public static final String USE_RSLORA = "use_rslora";
    public static final String LORA_FA_PROJECT_GRAD = "lora_fa_project_grad";
    public static final String VERA_D_INITIAL = "vera_d_initial";
    public static final String PROJECTION_PRNG_KEY = "projection_prng_key";
    public static final String DELTA_LAMBDA = "delta_lambda";
    public static final String DELTA_START_STEP = "delta_start_step";
    public static final String LORAPLUS_LR_RATIO = "loraplus_lr_ratio";
    public static final String N_EPOCHS = "n_epochs";
    public static final String MAX_STEPS = "max_steps";
    public static final String BATCH_SIZE = "batch_size";
    public static final String LEARNING_RATE = "learning_rate";
    public static final String LEARNING_RATE_MULTIPLIER = "learning_rate_multiplier";
    public static final String LR_SCHEDULER = "lr_scheduler";
    public static final String WARMUP_STEPS = "warmup_steps";
    public static final String WEIGHT_DECAY = "weight_decay";
    public static final String MAX_GRAD_NORM = "max_grad_norm";
    public static final String GRADIENT_ACCUMULATION_STEPS = "gradient_accumulation_steps";
    public static final String MAX_SEQ_LENGTH = "max_seq_length";
    public static final String CHECKPOINT_EVERY = "checkpoint_every";
    public static final String DTYPE = "dtype";
    public static final String EVAL_EVERY = "eval_every";
    public static final String EVAL_SAMPLES = "eval_samples";
    public static final String EARLY_STOPPING_PATIENCE = "early_stopping_patience";
    public static final String KEEP_BEST = "keep_best";

    /** The settings that evaluate on the validation file during training, so need one. */
    public static final List<String> NEED_VALIDATION_DATA = List.of(EVAL_EVERY, EARLY_STOPPING_PATIENCE, KEEP_BEST);

    /** Every setting, in the order {@link #values()} lists them. */
    public static final List<String> NAMES = List.of(R, LORA_ALPHA, LORA_DROPOUT, TARGET_MODULES, USE_RSLORA,
            LORA_FA_PROJECT_GRAD, VERA_D_INITIAL, PROJECTION_PRNG_KEY, DELTA_LAMBDA, DELTA_START_STEP,
            LORAPLUS_LR_RATIO, N_EPOCHS, MAX_STEPS, BATCH_SIZE, LEARNING_RATE, LEARNING_RATE_MULTIPLIER, LR_SCHEDULER,
            WARMUP_STEPS, WEIGHT_DECAY, MAX_GRAD_NORM, GRADIENT_ACCUMULATION_STEPS, MAX_SEQ_LENGTH, CHECKPOINT_EVERY, DTYPE,
            EVAL_EVERY, EVAL_SAMPLES, EARLY_STOPPING_PATIENCE, KEEP_BEST);

    /** Settings that are on/off switches (flags on a command line). */
    public static final Set<String> SWITCHES = Set.of(USE_RSLORA, LORA_FA_PROJECT_GRAD, KEEP_BEST);

    /** Settings that only some methods have; the others apply to every method. */
    private static final Map<String, Set<Method>> ONLY_FOR = Map.of(
            LORA_ALPHA, EnumSet.complementOf(EnumSet.of(Method.VERA)),
            USE_RSLORA, EnumSet.complementOf(EnumSet.of(Method.VERA)),
            LORA_FA_PROJECT_GRAD, EnumSet.of(Method.LORA_FA),
            VERA_D_INITIAL, EnumSet.of(Method.VERA),
            PROJECTION_PRNG_KEY, EnumSet.of(Method.VERA),
            DELTA_LAMBDA, EnumSet.of(Method.DELTA_LORA),
            DELTA_START_STEP, EnumSet.of(Method.DELTA_LORA),
            LORAPLUS_LR_RATIO, EnumSet.of(Method.LORA_PLUS),
            // Delta-LoRA writes the base weights as it trains: an earlier step's adapter state alone is not that
            // step's model
            KEEP_BEST, EnumSet.complementOf(EnumSet.of(Method.DELTA_LORA)));

    /** The adapter configs' own (PEFT) field names that differ from the settings' names. */
    private static final Map<String, String> SETTING_OF_CONFIG_FIELD = Map.of(
            "d_initial", VERA_D_INITIAL, "vera_dropout", LORA_DROPOUT);

    public static final int MAX_LORA_RANK = 1024;
    public static final int MAX_VERA_RANK = 4096;
    private static final List<String> SCHEDULES = List.of("linear", "cosine", "constant");

    public MethodSettings {
        values = Collections.unmodifiableMap(values);
    }

    /**
     * Resolves typed values (as JSON gives them: numbers, booleans, strings, lists of strings).
     *
     * @param seed seeds the run (data order, dropout, LoRA's A init); not a setting of the method
     * @throws InvalidSettingException naming the setting that is unknown, given for another method, of the wrong
     *                                 type or out of range
     */
    public static MethodSettings resolve(Method method, Map<String, ?> given, long seed) {
        return resolve(method, new GivenSettings(given, false), seed);
    }

    /** Resolves values given as text (a command line): {@code "8"}, {@code "true"}, {@code "q_proj,v_proj"}. */
    public static MethodSettings parse(Method method, Map<String, String> given, long seed) {
        return resolve(method, new GivenSettings(given, true), seed);
    }

    /** The learning rate a method trains at when none is given, and the base of {@code learning_rate_multiplier}. */
    public static double defaultLearningRate(Method method) {
        return method == Method.VERA ? 2e-3 : 2e-4;
    }

    /** OpenAI's view of the learning rate: relative to the method's default. */
    public double learningRateMultiplier() {
        return training.lr() / defaultLearningRate(method);
    }

    private static MethodSettings resolve(Method method, GivenSettings v, long seed) {
        requireApplicable(method, v);
        boolean vera = method == Method.VERA;
        int r = v.integer(R, vera ? VeraConfig.DEFAULT_R : LoraConfig.DEFAULT_R, 1, vera ? MAX_VERA_RANK : MAX_LORA_RANK);
        double alpha = vera ? 0 : v.decimal(LORA_ALPHA, LoraConfig.DEFAULT_ALPHA, 1e-6, 1e6);
        double dropout = v.decimal(LORA_DROPOUT, 0.0, 0.0, 0.999);
        if (method == Method.DELTA_LORA && dropout != 0) {
            throw new InvalidSettingException(LORA_DROPOUT,
                    "must be 0: Delta-LoRA trains without dropout on the adapter branch, got " + dropout);
        }
        TargetModules targets = v.targetModules(TARGET_MODULES);
        AdapterConfig adapter = adapter(method, v, r, alpha, dropout, targets);
        TrainingConfig.Builder training = training(method, v, seed);
        int maxSeqLength = v.integer(MAX_SEQ_LENGTH, 512, 8, 32_768);
        training.checkpointEvery(v.integer(CHECKPOINT_EVERY, 0, 0, 1_000_000));   // 0: no checkpoints
        ModelDtype dtype = dtype(v);
        evaluation(method, v, training);
        return new MethodSettings(method, adapter, training.build(), maxSeqLength, dtype, v.resolved());
    }

    /**
     * auto unless given, as a registration and the command line's {@code --dtype}: the checkpoint's type where the
     * worker's device computes it natively, float32 where it does not (a bf16 base on a CPU without avx512_bf16 trained
     * at 12× float32's CPU time: README, "Half precision"). Every method trains on a half base:
     * the adapter, its optimizer state and the loss stay float32 (VeRA's regenerated projections are rounded to the
     * base's type as PEFT's are; Delta-LoRA's W movement is kept in float32 on the side, never written into the half
     * W).
     */
    private static ModelDtype dtype(GivenSettings v) {
        List<String> names = java.util.Arrays.stream(ModelDtype.values()).map(ModelDtype::externalName).toList();
        return ModelDtype.parse(v.choice(DTYPE, ModelDtype.AUTO.externalName(), names));
    }

    private static AdapterConfig adapter(Method method, GivenSettings v, int r, double alpha, double dropout,
                                         TargetModules targets) {
        try {
            if (method == Method.VERA) {
                return new VeraConfig(r, v.decimal(VERA_D_INITIAL, VeraConfig.DEFAULT_D_INITIAL, 1e-6, 10.0),
                        v.longValue(PROJECTION_PRNG_KEY, 0, 0, Integer.MAX_VALUE), true, dropout, targets);
            }
            LoraConfig lora = new LoraConfig(r, alpha, dropout, v.bool(USE_RSLORA, false), targets, null, null);
            return switch (method) {
                case LORA -> lora;
                case LORA_FA -> new LoraFaConfig(lora, v.bool(LORA_FA_PROJECT_GRAD, false));
                case DELTA_LORA -> new DeltaLoraConfig(lora,
                        v.decimal(DELTA_LAMBDA, DeltaLoraConfig.DEFAULT_LAMBDA, 1e-6, 100.0),
                        v.integer(DELTA_START_STEP, DeltaLoraConfig.DEFAULT_START_STEP, -1, 10_000_000));
                case LORA_PLUS -> new LoraPlusConfig(lora,
                        v.decimal(LORAPLUS_LR_RATIO, LoraPlusConfig.DEFAULT_LR_RATIO, 1.0, 10_000.0));
                case VERA -> throw new IllegalStateException("handled above");
            };
        } catch (AdapterConfigException e) {
            String setting = SETTING_OF_CONFIG_FIELD.get(e.field());
            throw setting == null ? e : e.at(setting);
        }
    }

    private static TrainingConfig.Builder training(Method method, GivenSettings v, long seed) {
        TrainingConfig.Builder builder = TrainingConfig.builder().seed(seed);
        builder.epochs(v.integer(N_EPOCHS, 1, 1, 50));
        if (v.has(MAX_STEPS)) {
            builder.steps(v.integer(MAX_STEPS, 0, 1, 1_000_000));   // wins over n_epochs
        }
        builder.batchSize(v.integer(BATCH_SIZE, 4, 1, 1024));
        double multiplier = v.unrecordedDecimal(LEARNING_RATE_MULTIPLIER, 1.0, 1e-6, 100.0);
        double lr = v.has(LEARNING_RATE) ? v.decimal(LEARNING_RATE, 0, 1e-9, 1.0)
                : defaultLearningRate(method) * multiplier;
        v.record(LEARNING_RATE, lr);
        return builder.lr(lr)
                .schedule(LrSchedule.Kind.parse(v.choice(LR_SCHEDULER, "linear", SCHEDULES)))
                .warmupSteps(v.integer(WARMUP_STEPS, 0, 0, 1_000_000))
                .weightDecay(v.decimal(WEIGHT_DECAY, 0.0, 0.0, 10.0))
                .maxGradNorm(v.decimal(MAX_GRAD_NORM, 1.0, 0.0, 1e6))
                .gradAccum(v.integer(GRADIENT_ACCUMULATION_STEPS, 1, 1, 1024));
    }

    /**
     * The evaluation loop: every {@code eval_every} steps (0: only before and after training) on a fixed sample of
     * {@code eval_samples} validation examples (256: a few seconds on a small model, and the whole file when it is
     * smaller), early stopping after {@code early_stopping_patience} evaluations without improvement (0: never), and
     * {@code keep_best}.
     */
    private static void evaluation(Method method, GivenSettings v, TrainingConfig.Builder training) {
        training.evalEvery(v.integer(EVAL_EVERY, 0, 0, 1_000_000))
                .evalSamples(v.integer(EVAL_SAMPLES, 256, 1, 1_000_000))
                .earlyStoppingPatience(v.integer(EARLY_STOPPING_PATIENCE, 0, 0, 1_000_000));
        if (appliesTo(KEEP_BEST, method)) {
            training.keepBest(v.bool(KEEP_BEST, false));
        }
    }

    /** Refuses names that are no setting, and settings of another method, before reading any value. */
    private static void requireApplicable(Method method, GivenSettings v) {
        for (String name : v.names()) {
            Set<Method> only = ONLY_FOR.get(name);
            if (!NAMES.contains(name)) {
                throw new InvalidSettingException(name, "unknown hyperparameter; known: " + String.join(", ",
                        new TreeSet<>(NAMES.stream().filter(n -> appliesTo(n, method)).toList())));
            }
            if (only != null && !only.contains(method)) {
                throw new InvalidSettingException(name, only.size() == 1
                        ? "only applies to method '" + only.iterator().next().id() + "'"
                        : "does not apply to method '" + method.id() + "'" + (method == Method.VERA
                        ? " (VeRA has no scaling)" : ""));
            }
        }
    }

    /** Whether {@code name} is a setting of {@code method}. */
    public static boolean appliesTo(String name, Method method) {
        Set<Method> only = ONLY_FOR.get(name);
        return NAMES.contains(name) && (only == null || only.contains(method));
    }

    /** The method's settings with nothing given: every default, in order (for documentation and tests). */
    public static Map<String, Object> defaults(Method method) {
        return resolve(method, Map.of(), 0).values();
    }
}
