package dev.peftd.core.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdapterConfigTest {

    private static final List<String> LINEARS = List.of(
            "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.down_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.mlp.down_proj",
            "lm_head");

    @Test
    void namesMatchExactlyOrAsDottedSuffix() {
        assertThat(TargetModules.names(List.of("q_proj")).select(LINEARS, "lm_head"))
                .containsExactly("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj");
        assertThat(TargetModules.names(List.of("model.layers.1.mlp.down_proj")).select(LINEARS, "lm_head"))
                .containsExactly("model.layers.1.mlp.down_proj");
        // a suffix must start at a dot: "proj" is not a module name
        assertThatThrownBy(() -> TargetModules.names(List.of("proj")).select(LINEARS, "lm_head"))
                .isInstanceOf(AdapterConfigException.class).hasMessageStartingWith("target_modules:")
                .hasMessageContaining("matches none of the model's 7 linear layers");
    }

    @Test
    void regexMustMatchTheWholeName() {
        assertThat(TargetModules.regex("model\\.layers\\.1\\.self_attn\\.(q|v)_proj").select(LINEARS, "lm_head"))
                .containsExactly("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj");
        assertThatThrownBy(() -> TargetModules.regex("q_proj").select(LINEARS, "lm_head"))
                .hasMessageStartingWith("target_modules:");
        assertThatThrownBy(() -> TargetModules.regex("(unclosed")).hasMessageStartingWith("target_modules:")
                .hasMessageContaining("invalid regular expression");
    }

    @Test
    void allLinearExcludesTheOutputHead() {
        assertThat(TargetModules.parse("all-linear").select(LINEARS, "lm_head")).hasSize(6).doesNotContain("lm_head");
        assertThat(TargetModules.parse(" q_proj, v_proj ,").nameList()).containsExactly("q_proj", "v_proj");
    }

    @Test
    void rankAndAlphaPatternsFollowPeftsFirstMatchRule() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("down_proj", 2);
        ranks.put("layers\\.1\\..*", 6); // PEFT: first key in insertion order wins
        LoraConfig c = LoraConfig.withPatterns(4, 8, 0, false, TargetModules.allLinear(), ranks,
                Map.of("q_proj", 16.0));
        assertThat(c.rankFor("model.layers.0.mlp.down_proj")).isEqualTo(2);
        assertThat(c.rankFor("model.layers.1.mlp.down_proj")).isEqualTo(2);
        assertThat(c.rankFor("model.layers.1.self_attn.v_proj")).isEqualTo(6);
        assertThat(c.rankFor("model.layers.0.self_attn.v_proj")).isEqualTo(4);
        // "proj" does not match "q_proj" as a whole dotted component
        assertThat(LoraConfig.withPatterns(4, 8, 0, false, TargetModules.allLinear(), Map.of("proj", 1), null)
                .rankFor("model.layers.0.self_attn.q_proj")).isEqualTo(4);
        assertThat(c.scalingFor("model.layers.0.self_attn.q_proj")).isEqualTo(4.0);  // 16 / 4
        assertThat(c.scalingFor("model.layers.0.mlp.down_proj")).isEqualTo(4.0);     // 8 / 2
        assertThat(c.withRslora(true).scalingFor("model.layers.0.self_attn.v_proj")).isEqualTo(4.0); // 8 / √4
    }

    @Test
    void invalidValuesNameTheirField() {
        TargetModules t = TargetModules.allLinear();
        assertThatThrownBy(() -> LoraConfig.of(0, 8, t)).hasMessageStartingWith("r:");
        assertThatThrownBy(() -> LoraConfig.of(4, Double.NaN, t)).hasMessageStartingWith("lora_alpha:");
        assertThatThrownBy(() -> LoraConfig.of(4, 8, t).withDropout(1.0)).hasMessageStartingWith("lora_dropout:");
        assertThatThrownBy(() -> LoraConfig.withPatterns(4, 8, 0, false, t, Map.of("q_proj", 0), null))
                .hasMessageStartingWith("rank_pattern['q_proj']:");
        assertThatThrownBy(() -> LoraConfig.withPatterns(4, 8, 0, false, t, null, Map.of("(", 2.0)))
                .hasMessageStartingWith("alpha_pattern['(']:");
        assertThatThrownBy(() -> new DeltaLoraConfig(LoraConfig.of(4, 8, t).withDropout(0.1), 2, 500))
                .hasMessageStartingWith("lora_dropout:").hasMessageContaining("Delta-LoRA");
        assertThatThrownBy(() -> new DeltaLoraConfig(LoraConfig.of(4, 8, t), -1, 500))
                .hasMessageStartingWith("delta_lambda:");
        assertThatThrownBy(() -> new DeltaLoraConfig(LoraConfig.of(4, 8, t), 2, -2))
                .hasMessageStartingWith("delta_start_step:");
        assertThatThrownBy(() -> new LoraPlusConfig(LoraConfig.of(4, 8, t), 0))
                .hasMessageStartingWith("loraplus_lr_ratio:");
        assertThatThrownBy(() -> new VeraConfig(0, 0.1, 0, true, 0, t)).hasMessageStartingWith("r:");
        assertThatThrownBy(() -> new VeraConfig(8, Double.POSITIVE_INFINITY, 0, true, 0, t))
                .hasMessageStartingWith("d_initial:");
        assertThatThrownBy(() -> TargetModules.names(List.of())).hasMessageStartingWith("target_modules:");
        assertThatThrownBy(() -> Method.fromId("dora")).hasMessageStartingWith("method:");
    }

    @Test
    void deltaLoraStartStepIsClampedToTheRun() {
        DeltaLoraConfig c = new DeltaLoraConfig(LoraConfig.of(4, 8, TargetModules.allLinear()), 2, 500);
        assertThat(c.startStepFor(2000)).isEqualTo(500);
        assertThat(c.startStepFor(100)).isEqualTo(49);
        assertThat(c.clampedTo(1).startStep()).isEqualTo(-1);
        assertThat(c.hyperparameters()).containsEntry("delta_lambda", 2.0).containsEntry("delta_start_step", 500);
    }
}
