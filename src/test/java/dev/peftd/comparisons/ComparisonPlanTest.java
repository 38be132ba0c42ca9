package dev.peftd.comparisons;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.Method;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The plan behind a comparison's children: which runs, in which order, with which settings. */
class ComparisonPlanTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static ComparisonPlan plan(List<String> methods, String overrides, int seeds) {
        return ComparisonPlan.of(new ComparisonPlan.Given(methods, 20, null, 4, 64, JSON.readTree(overrides), seeds, 7));
    }

    @Test
    void everyMethodRunsAtEverySeedSeedBySeed() {
        ComparisonPlan plan = plan(List.of("vera", "lora"), "{}", 2);
        assertThat(plan.runs()).containsExactly(new ComparisonPlan.Run(Method.VERA, 7),
                new ComparisonPlan.Run(Method.LORA, 7), new ComparisonPlan.Run(Method.VERA, 8),
                new ComparisonPlan.Run(Method.LORA, 8));
    }

    @Test
    void withoutMethodsAllFiveAreCompared() {
        assertThat(plan(null, "{}", 1).methods()).containsExactly(Method.values());
    }

    @Test
    void aChildGetsTheSharedBudgetAndOnlyItsOwnOverrides() {
        ComparisonPlan plan = plan(List.of("lora", "vera"), "{\"vera\": {\"r\": 64, \"learning_rate\": 0.01}}", 1);
        JsonNode vera = plan.childMethod(Method.VERA, JSON);
        assertThat(vera.path("type").asString()).isEqualTo("vera");
        JsonNode hp = vera.path("vera").path("hyperparameters");
        assertThat(hp.path("max_steps").asInt()).isEqualTo(20);
        assertThat(hp.path("batch_size").asInt()).isEqualTo(4);
        assertThat(hp.path("max_seq_length").asInt()).isEqualTo(64);
        assertThat(hp.path("r").asInt()).isEqualTo(64);
        assertThat(hp.path("learning_rate").asDouble()).isEqualTo(0.01);
        JsonNode lora = plan.childMethod(Method.LORA, JSON).path("lora").path("hyperparameters");
        assertThat(lora.has("r")).isFalse();
        assertThat(lora.has("learning_rate")).isFalse();
    }

    @Test
    void aRefusedChildSettingIsNamedAsTheComparisonGaveIt() {
        ComparisonPlan plan = plan(List.of("vera"), "{\"vera\": {\"target_modules\": [\"q_proj\", \"(\"]}}", 1);
        assertThat(plan.readdress(Method.VERA, new InvalidSettingException(
                "method.vera.hyperparameters.target_modules[1]", "not a regular expression")).field())
                .isEqualTo("overrides.vera.target_modules[1]");
        assertThat(plan.readdress(Method.VERA, new InvalidSettingException(
                "method.vera.hyperparameters.max_steps", "too many")).field()).isEqualTo("steps");
        assertThat(plan.readdress(Method.VERA, new InvalidSettingException(
                "method.vera.hyperparameters.batch_size", "too large")).field()).isEqualTo("batch_size");
    }
}
