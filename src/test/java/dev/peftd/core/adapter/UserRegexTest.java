package dev.peftd.core.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * User regexes cannot hold a thread: the hostile patterns from the hardening issue are refused, naming their field,
 * in well under a second. Each runs under a preemptive timeout, so that on an unguarded engine the test fails
 * after 5 s instead of hanging the build.
 */
class UserRegexTest {

    private static final Duration PROMPTLY = Duration.ofSeconds(5);
    private static final List<String> LINEARS = List.of(
            "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.down_proj",
            "model.layers.1.self_attn.q_proj", "lm_head");

    @Test
    void catastrophicTargetModulesRegexFailsPromptlyNamingTheField() {
        TargetModules hostile = TargetModules.regex("(.*){16}Z");
        assertTimeoutPreemptively(PROMPTLY, () -> assertThatThrownBy(() -> hostile.select(LINEARS, "lm_head"))
                .isInstanceOf(AdapterConfigException.class)
                .hasMessageStartingWith("target_modules: regular expression '(.*){16}Z' needs more than")
                .hasMessageContaining("model.layers.0.self_attn.q_proj"));
        assertTimeoutPreemptively(PROMPTLY, () -> assertThatThrownBy(hostile::requireEvaluable)
                .hasMessageStartingWith("target_modules:"));
    }

    /**
     * A regex that backtracks only on a name the typical list lacks (an embedding, here) passes the typical check, and
     * is refused once the model's own module names are given: what submission does when the base model is known.
     */
    @Test
    void theModelsOwnNamesCatchWhatTypicalNamesMiss() {
        TargetModules hostile = TargetModules.regex("model\\.embed_tokens(x?x?)*(.*){14}Z");
        assertTimeoutPreemptively(PROMPTLY, () -> hostile.requireEvaluable());
        List<String> modules = List.of("model.embed_tokens_and_a_long_tail", "model.layers.0.self_attn.q_proj");
        assertTimeoutPreemptively(PROMPTLY, () -> assertThatThrownBy(() -> hostile.requireEvaluable(modules))
                .isInstanceOf(AdapterConfigException.class)
                .hasMessageContaining("model.embed_tokens_and_a_long_tail"));
    }

    @Test
    void catastrophicRankPatternKeyFailsPromptlyNamingTheKey() {
        LoraConfig config = LoraConfig.withPatterns(4, 8, 0, false, TargetModules.allLinear(),
                Map.of("(.*){12}Z", 2), null);
        // unguarded, this one lookup backtracks for tens of seconds (13 s for layer 0's shorter name here)
        String module = "model.layers.127.self_attn.q_proj";
        assertTimeoutPreemptively(PROMPTLY, () -> assertThatThrownBy(() -> config.rankFor(module))
                .isInstanceOf(AdapterConfigException.class)
                .hasMessageStartingWith("rank_pattern['(.*){12}Z']: regular expression"));
    }

    @Test
    void exhaustingTheBudgetTakesMilliseconds() {
        TargetModules hostile = TargetModules.regex("(.*){16}Z");
        long start = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            assertThatThrownBy(() -> hostile.matches(LINEARS.get(0), "lm_head"));
        }
        double perModule = (System.nanoTime() - start) / 20 / 1e6;
        assertThat(perModule).as("ms to exhaust one module's budget").isLessThan(100);
    }

    @Test
    void longAndInvalidPatternsAreRefusedAtCompilation() {
        String long513 = "a".repeat(UserRegex.MAX_LENGTH + 1);
        assertThatThrownBy(() -> TargetModules.regex(long513)).hasMessageStartingWith("target_modules:")
                .hasMessageContaining("at most 512");
        assertThatThrownBy(() -> LoraConfig.withPatterns(4, 8, 0, false, TargetModules.allLinear(), null,
                Map.of(long513, 2.0))).hasMessageStartingWith("alpha_pattern['a");
        assertThat(TargetModules.regex("a".repeat(UserRegex.MAX_LENGTH)).regexOrNull()).hasSize(UserRegex.MAX_LENGTH);
        assertThatThrownBy(() -> TargetModules.regex("(unclosed")).hasMessageContaining("invalid regular expression");
    }

    /** The budget leaves room for the largest real patterns: one exact key per module of an 80-layer model. */
    @Test
    void anExportedPerModuleRankPatternOnAnEightyLayerModelFitsTheBudget() {
        Map<String, Integer> exact = new LinkedHashMap<>();
        List<String> modules = new ArrayList<>();
        for (int layer = 0; layer < 80; layer++) {
            for (String p : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                String module = "model.layers." + layer + "." + p;
                modules.add(module);
                exact.put(module.replace(".", "\\."), 1 + layer % 7);
            }
        }
        LoraConfig config = LoraConfig.withPatterns(8, 8, 0, false, TargetModules.allLinear(), exact, null);
        assertThat(config.rankFor(modules.get(modules.size() - 1))).isEqualTo(1 + 79 % 7); // the last key tried
        assertThat(config.rankFor("lm_head")).isEqualTo(8);                               // every key tried
        assertThat(TargetModules.regex("model\\.layers\\.\\d+\\.(self_attn|mlp)\\.\\w+_proj").select(modules, "lm_head"))
                .hasSize(560);
    }
}
