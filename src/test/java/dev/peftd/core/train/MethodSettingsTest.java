package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.train.optim.LrSchedule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The one method-settings factory: its defaults, its refusals, and typed and textual input agreeing. */
class MethodSettingsTest {

    @Test
    void defaultsArePeftsWherePeftHasOne() {
        MethodSettings lora = MethodSettings.resolve(Method.LORA, Map.of(), 1);
        LoraConfig config = (LoraConfig) lora.adapter();
        assertThat(config.r()).isEqualTo(8);
        assertThat(config.alpha()).isEqualTo(8.0);   // PEFT's lora_alpha, not 2r
        assertThat(config.dropout()).isZero();
        assertThat(config.targetModules().isAllLinear()).isTrue();
        assertThat(lora.training().lr()).isEqualTo(2e-4);
        assertThat(lora.training().schedule()).isEqualTo(LrSchedule.Kind.LINEAR);
        assertThat(lora.training().seed()).isEqualTo(1);
        assertThat(lora.training().checkpointEvery()).isZero();
        assertThat(lora.maxSeqLength()).isEqualTo(512);

        MethodSettings vera = MethodSettings.resolve(Method.VERA, Map.of(), 1);
        assertThat(((VeraConfig) vera.adapter()).r()).isEqualTo(256);
        assertThat(((VeraConfig) vera.adapter()).dInitial()).isEqualTo(0.1);
        assertThat(vera.training().lr()).isEqualTo(2e-3);
        assertThat(vera.values()).doesNotContainKeys("lora_alpha", "use_rslora");
        assertThat(vera.learningRateMultiplier()).isEqualTo(1.0);

        LoraPlusConfig plus = (LoraPlusConfig) MethodSettings.resolve(Method.LORA_PLUS, Map.of(), 1).adapter();
        assertThat(plus.lrRatio()).isEqualTo(16.0);
        DeltaLoraConfig delta = (DeltaLoraConfig) MethodSettings.resolve(Method.DELTA_LORA, Map.of(), 1).adapter();
        assertThat(delta.lambda()).isEqualTo(2.0);
        assertThat(delta.startStep()).isEqualTo(500);
        assertThat(((LoraFaConfig) MethodSettings.resolve(Method.LORA_FA, Map.of(), 1).adapter()).projectGradient())
                .isFalse();
    }

    @Test
    void theLoraPlusRatioGoesToTheAdapterConfigThatTheTrainerReads() {
        MethodSettings s = MethodSettings.resolve(Method.LORA_PLUS, Map.of("loraplus_lr_ratio", 8), 0);
        assertThat(((LoraPlusConfig) s.adapter()).lrRatio()).isEqualTo(8.0);
        assertThat(s.training().asMap()).doesNotContainKey("loraplus_lr_ratio");
        assertThat(s.values()).containsEntry("loraplus_lr_ratio", 8.0);
    }

    @Test
    void theEvaluationLoopsSettingsResolveAndRefuseWhatCannotWork() {
        MethodSettings s = MethodSettings.resolve(Method.LORA, Map.of("eval_every", 5, "early_stopping_patience", 3,
                "keep_best", true), 1);
        assertThat(s.training().evalEvery()).isEqualTo(5);
        assertThat(s.training().earlyStoppingPatience()).isEqualTo(3);
        assertThat(s.training().keepBest()).isTrue();
        assertThat(s.training().evalSamples()).as("the default sample").isEqualTo(256);
        assertThat(MethodSettings.defaults(Method.LORA)).containsEntry("eval_every", 0)
                .containsEntry("early_stopping_patience", 0).containsEntry("keep_best", false);

        assertThatThrownBy(() -> MethodSettings.resolve(Method.LORA, Map.of("early_stopping_patience", 2), 1))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> {
                    assertThat(e.field()).isEqualTo("early_stopping_patience");
                    assertThat(e.reason()).contains("eval_every");
                });
        assertThatThrownBy(() -> MethodSettings.resolve(Method.LORA, Map.of("keep_best", true), 1))
                .isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.field()).isEqualTo("keep_best"));
        assertThatThrownBy(() -> MethodSettings.resolve(Method.DELTA_LORA, Map.of("eval_every", 2, "keep_best", true),
                1)).isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.field()).isEqualTo("keep_best"));
    }

    @Test
    void theResolvedValuesListEverySettingOnceInOrderAndResolveToTheSameConfigs() {
        Map<String, Object> given = new LinkedHashMap<>();
        given.put("max_steps", 7);
        given.put("n_epochs", 3);
        given.put("r", 4);
        given.put("target_modules", List.of("q_proj", "v_proj"));
        given.put("learning_rate_multiplier", 2);
        given.put("checkpoint_every", 5);
        MethodSettings first = MethodSettings.resolve(Method.DELTA_LORA, given, 9);
        assertThat(first.values().keySet()).containsExactly("r", "lora_alpha", "lora_dropout", "target_modules",
                "use_rslora", "delta_lambda", "delta_start_step", "n_epochs", "max_steps", "batch_size",
                "learning_rate", "lr_scheduler", "warmup_steps", "weight_decay", "max_grad_norm",
                "gradient_accumulation_steps", "max_seq_length", "checkpoint_every", "dtype", "eval_every",
                "eval_samples", "early_stopping_patience");
        assertThat(first.dtype()).as("the default").isEqualTo(ModelDtype.AUTO);
        assertThat(first.training().steps()).as("max_steps wins over n_epochs").isEqualTo(7);
        assertThat(first.training().lr()).isEqualTo(4e-4);
        MethodSettings again = MethodSettings.resolve(Method.DELTA_LORA, first.values(), 9);
        assertThat(again.adapter()).isEqualTo(first.adapter());
        assertThat(again.training()).isEqualTo(first.training());
        assertThat(again.values()).isEqualTo(first.values());
    }

    /** Every method takes every dtype (VeRA and Delta-LoRA too, since they train on a half base). */
    @ParameterizedTest
    @EnumSource(Method.class)
    void everyMethodTakesAHalfDtype(Method method) {
        for (String dtype : List.of("bfloat16", "float16", "auto", "float32")) {
            assertThat(MethodSettings.resolve(method, Map.of("dtype", dtype), 0).dtype())
                    .isEqualTo(ModelDtype.parse(dtype));
        }
        assertThatThrownBy(() -> MethodSettings.resolve(method, Map.of("dtype", "fp8"), 0))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> assertThat(e.field()).isEqualTo("dtype"));
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void commandLineTextAndJsonValuesGiveTheSameSettings(Method method) {
        Map<String, Object> typed = new LinkedHashMap<>();
        Map<String, String> text = new LinkedHashMap<>();
        put(typed, text, "r", 16, "16");
        put(typed, text, "lora_dropout", 0.0, "0");
        put(typed, text, "target_modules", List.of("q_proj", "o_proj"), "q_proj, o_proj");
        put(typed, text, "max_steps", 3, "3");
        put(typed, text, "learning_rate", 1e-3, "1e-3");
        put(typed, text, "lr_scheduler", "cosine", "cosine");
        put(typed, text, "max_seq_length", 64, "64");
        switch (method) {
            case VERA -> put(typed, text, "projection_prng_key", 3, "3");
            case LORA_FA -> put(typed, text, "lora_fa_project_grad", true, "true");
            case LORA_PLUS -> put(typed, text, "loraplus_lr_ratio", 4, "4");
            case DELTA_LORA -> put(typed, text, "delta_start_step", -1, "-1");
            case LORA -> put(typed, text, "use_rslora", true, "true");
        }
        MethodSettings fromJson = MethodSettings.resolve(method, typed, 5);
        MethodSettings fromText = MethodSettings.parse(method, text, 5);
        assertThat(fromText.adapter()).isEqualTo(fromJson.adapter());
        assertThat(fromText.training()).isEqualTo(fromJson.training());
        assertThat(fromText.values()).isEqualTo(fromJson.values());
    }

    private static void put(Map<String, Object> typed, Map<String, String> text, String name, Object value, String asText) {
        typed.put(name, value);
        text.put(name, asText);
    }

    @Test
    void refusalsNameTheSettingAndSayWhy() {
        assertRefused(Method.LORA, Map.of("r", 0), "r", "must be between 1 and 1024, got 0");
        assertRefused(Method.VERA, Map.of("r", 5000), "r", "must be between 1 and 4096, got 5000");
        assertRefused(Method.LORA, Map.of("r", "eight"), "r", "must be an integer, got \"eight\"");
        assertRefused(Method.LORA, Map.of("r", 8.5), "r", "must be an integer");
        assertRefused(Method.LORA, Map.of("lora_alpha", 0), "lora_alpha", "must be between");
        assertRefused(Method.LORA, Map.of("rank", 8), "rank", "unknown hyperparameter; known: batch_size");
        assertRefused(Method.LORA, Map.of("delta_lambda", 2), "delta_lambda", "only applies to method 'delta_lora'");
        assertRefused(Method.VERA, Map.of("lora_alpha", 16), "lora_alpha", "does not apply to method 'vera'");
        assertRefused(Method.DELTA_LORA, Map.of("lora_dropout", 0.1), "lora_dropout",
                "must be 0: Delta-LoRA trains without dropout");
        assertRefused(Method.LORA, Map.of("lr_scheduler", "wavy"), "lr_scheduler", "must be one of");
        assertRefused(Method.LORA, Map.of("use_rslora", "yes"), "use_rslora", "must be true or false");
        assertRefused(Method.LORA, Map.of("target_modules", List.of("q_proj", "../x")), "target_modules[1]",
                "not a module name");
        assertRefused(Method.LORA, Map.of("target_modules", List.of()), "target_modules", "non-empty list");
        assertRefused(Method.LORA, Map.of("target_modules", "(unclosed"), "target_modules",
                "invalid regular expression");
        assertThatThrownBy(() -> MethodSettings.parse(Method.LORA, Map.of("learning_rate", "abc"), 0))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> {
                    assertThat(e.field()).isEqualTo("learning_rate");
                    assertThat(e.reason()).isEqualTo("'abc' is not a finite number");
                });
        assertThatThrownBy(() -> MethodSettings.parse(Method.LORA, Map.of("batch_size", "2.5"), 0))
                .hasMessage("batch_size: '2.5' is not an integer");
    }

    private static void assertRefused(Method method, Map<String, ?> given, String field, String reason) {
        assertThatThrownBy(() -> MethodSettings.resolve(method, given, 0))
                .as(given.toString())
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> {
                    assertThat(e.field()).isEqualTo(field);
                    assertThat(e.reason()).contains(reason);
                });
    }
}
