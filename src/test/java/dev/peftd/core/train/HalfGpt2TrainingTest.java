package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.data.TokenizedExample;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LoRA on a bfloat16 GPT-2 base (Conv1D layers held as half {@code [out, in]} weights): the same 12 steps from the
 * same initial adapter and batches as on the float32 base track it within bf16 noise, and are not float32 in
 * disguise. Tolerance: |Δloss| ≤ 3e-2 per step, as HalfTrainingParityTest allows against PEFT on a bf16 Llama.
 */
class HalfGpt2TrainingTest {

    private static final int STEPS = 12;

    @Test
    void loraOnABfloat16Gpt2TracksTheFloat32RunWithinBf16Noise() throws Exception {
        double[] float32 = losses(ModelDtype.FLOAT32);
        double[] bf16 = losses(ModelDtype.BFLOAT16);
        double worst = 0;
        double total = 0;
        for (int i = 0; i < STEPS; i++) {
            assertThat(bf16[i]).as("step %d", i + 1).isFinite();
            worst = Math.max(worst, Math.abs(bf16[i] - float32[i]));
            total += Math.abs(bf16[i] - float32[i]);
        }
        System.out.printf("GPT-2 LoRA, bf16 vs float32 base: worst |Δloss| %.3g, mean %.3g%n", worst, total / STEPS);
        assertThat(worst).isLessThanOrEqualTo(3e-2);
        assertThat(total / STEPS).as("a bf16 base must not train like float32").isGreaterThan(1e-5);
        assertThat(bf16[STEPS - 1]).as("the adapter learns on the half base").isLessThan(bf16[0]);
    }

    private static double[] losses(ModelDtype dtype) throws Exception {
        TrainingConfig config = TrainingConfig.builder().lr(1e-2).batchSize(4).steps(STEPS).shuffle(false).build();
        TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
        LoraConfig lora = LoraConfig.of(4, 8, TargetModules.names(List.of("c_attn", "c_proj", "c_fc")));
        try (CausalLm model = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu(), dtype);
                AbstractAdapter adapter = TrainingFixtures.adapter(model, lora, 7)) {
            assertThat(model.linears().values()).allMatch(l -> l.halfPrecision() == (dtype == ModelDtype.BFLOAT16),
                    "weights held in " + dtype);
            List<TokenizedExample> examples = TrainingFixtures.randomExamples(model.config().vocabSize(), 8, 3);
            new TrainingRun(model, adapter, new TrainingData(examples, List.of(), 0), config, recorder, null).run();
        }
        return recorder.steps.stream().mapToDouble(StepReport::loss).toArray();
    }
}
