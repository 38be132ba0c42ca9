package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.adapter.vera.VeraAdapter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * VeRA on a half base against PEFT on the same half base (fixtures/training/parity/vera-half.json, from
 * {@code make_training_fixtures.py vera-half}): the regenerated shared projections are PEFT's bit for bit (the float32
 * draw rounded to the base's type, held in float32), and 12 training steps from PEFT's init track PEFT's losses.
 *
 * <p>Tolerance: |Δloss| ≤ 1.5e-2 per step (bf16 rounding noise compounding through the updates, as in
 * {@link HalfTrainingParityTest}). Measured: 4e-4 at step 1, at most 5.6e-3 (step 12).
 */
class HalfVeraParityTest {

    private static final Path PARITY = Path.of("src/test/resources/fixtures/training/parity");
    private static final double TOLERANCE = 1.5e-2;

    private static JsonObject fixture() throws Exception {
        return JsonParser.parseString(Files.readString(PARITY.resolve("vera-half.json"))).getAsJsonObject();
    }

    private static VeraConfig config(JsonObject fixture) {
        JsonObject c = fixture.getAsJsonObject("config");
        return new VeraConfig(c.get("r").getAsInt(), c.get("d_initial").getAsDouble(),
                c.get("projection_prng_key").getAsLong(), true, 0.0,
                TargetModules.names(TrainingFixtures.ALL_PROJECTIONS));
    }

    @ParameterizedTest
    @EnumSource(value = ModelDtype.class, names = {"BFLOAT16", "FLOAT16"})
    void regeneratedProjectionsAreRoundedToTheBaseTypeAsPeftDoes(ModelDtype dtype) throws Exception {
        JsonObject fixture = fixture();
        JsonObject expected = fixture.getAsJsonObject("projections").getAsJsonObject(dtype.externalName());
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), dtype);
                VeraAdapter adapter = (VeraAdapter) TrainingFixtures.adapter(model, config(fixture), 0)) {
            assertBitwiseEqual("vera_A", adapter.projectionA().toFloatArray(), floats(expected.getAsJsonArray("vera_A")));
            assertBitwiseEqual("vera_B", adapter.projectionB().toFloatArray(), floats(expected.getAsJsonArray("vera_B")));
        }
    }

    @Test
    void twelveStepsOnABfloat16BaseTrackPeft() throws Exception {
        JsonObject fixture = fixture();
        JsonObject examples = JsonParser.parseString(Files.readString(PARITY.resolve("runs.json"))).getAsJsonObject();
        JsonObject run = fixture.getAsJsonObject("runs").getAsJsonObject("vera_bf16");
        JsonArray losses = run.getAsJsonArray("losses");
        TrainingConfig config = TrainingConfig.builder()
                .lr(run.getAsJsonObject("settings").get("lr").getAsDouble())
                .weightDecay(run.getAsJsonObject("settings").get("wd").getAsDouble())
                .batchSize(4)
                .steps(losses.size())
                .shuffle(false)
                .build();
        TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
                VeraAdapter adapter = (VeraAdapter) TrainingFixtures.adapter(model, config(fixture), 0)) {
            new TrainingRun(model, adapter, new TrainingData(TrainingParityTest.examples(examples), List.of(),
                    examples.get("pad_id").getAsInt()), config, recorder, null).run();
        }
        assertThat(recorder.steps).hasSize(losses.size());
        double worst = 0;
        for (int i = 0; i < losses.size(); i++) {
            double ours = recorder.steps.get(i).loss();
            worst = Math.max(worst, Math.abs(ours - losses.get(i).getAsDouble()));
            System.out.printf("step %2d  peftd-bf16 vera %.5f  peft-bf16 vera %.5f%n", i + 1, ours,
                    losses.get(i).getAsDouble());
        }
        System.out.printf("VeRA bf16: max |Δloss| vs PEFT bf16 %.3g%n", worst);
        for (int i = 0; i < losses.size(); i++) {
            assertThat(recorder.steps.get(i).loss()).as("step %d loss", i + 1)
                    .isCloseTo(losses.get(i).getAsDouble(), within(TOLERANCE));
        }
    }

    private static void assertBitwiseEqual(String name, float[] actual, float[] expected) {
        assertThat(actual).as(name).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToRawIntBits(actual[i])).as("%s[%d]: %s vs PEFT's %s", name, i, actual[i], expected[i])
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }

    private static float[] floats(JsonArray values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i).getAsFloat();
        }
        return out;
    }
}
