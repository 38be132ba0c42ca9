package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.data.TokenizedExample;
import dev.peftd.core.train.optim.LrSchedule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 20 steps of LoRA, LoRA+ and warmup+cosine+clipping+accumulation from PEFT's own initial adapter on the batches PEFT
 * trained on give PEFT + torch AdamW's losses (fixtures/training/parity, made by
 * tools/reference/make_training_fixtures.py).
 */
class TrainingParityTest {

    private static final Path PARITY = Path.of("src/test/resources/fixtures/training/parity");
    private static JsonObject fixture;
    private static CausalLm model;

    @BeforeAll
    static void load() throws Exception {
        fixture = JsonParser.parseString(Files.readString(PARITY.resolve("runs.json"))).getAsJsonObject();
        Path modelDir = TestModels.tinyLlama();
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(modelDir.resolve("model.safetensors"))));
        assertThat(digest).as("tiny-llama changed since the parity fixtures were made: rerun "
                + "tools/reference/make_training_fixtures.py training").isEqualTo(fixture.get("model_sha256").getAsString());
        model = ModelLoader.load(modelDir);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The examples PEFT trained on, from a runs.json. */
    static List<TokenizedExample> examples(JsonObject fixture) {
        List<TokenizedExample> out = new ArrayList<>();
        for (JsonElement e : fixture.getAsJsonArray("examples")) {
            JsonArray ids = e.getAsJsonObject().getAsJsonArray("ids");
            JsonArray trained = e.getAsJsonObject().getAsJsonArray("trained");
            int[] i = new int[ids.size()];
            boolean[] t = new boolean[ids.size()];
            for (int k = 0; k < i.length; k++) {
                i[k] = ids.get(k).getAsInt();
                t[k] = trained.get(k).getAsBoolean();
            }
            out.add(new TokenizedExample(i, t));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "lora_plus", "cosine"})
    void lossesMatchPeftEveryStep(String runName) {
        JsonObject run = fixture.getAsJsonObject("runs").getAsJsonObject(runName);
        JsonObject s = run.getAsJsonObject("settings");
        TrainingConfig config = TrainingConfig.builder()
                .lr(s.get("lr").getAsDouble())
                .weightDecay(s.get("wd").getAsDouble())
                .schedule(s.has("schedule") ? LrSchedule.Kind.parse(s.get("schedule").getAsString()) : LrSchedule.Kind.CONSTANT)
                .warmupSteps(s.has("warmup") ? s.get("warmup").getAsInt() : 0)
                .maxGradNorm(s.has("clip") ? s.get("clip").getAsDouble() : 0)
                .batchSize(s.has("micro") ? s.get("micro").getAsInt() : 4)
                .gradAccum(s.has("accum") ? s.get("accum").getAsInt() : 1)
                .steps(fixture.get("steps").getAsInt())
                .shuffle(false)
                .build();
        TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
        LoraConfig lora = TrainingFixtures.lora(4, 8, 0.0);
        AdapterConfig adapterConfig = s.has("ratio") ? new LoraPlusConfig(lora, s.get("ratio").getAsDouble()) : lora;
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, adapterConfig, 0)) {
            TrainingFixtures.loadState(adapter, PARITY.resolve("init/adapter_model.safetensors"));
            new TrainingRun(model, adapter, new TrainingData(examples(fixture), List.of(), fixture.get("pad_id").getAsInt()),
                    config, recorder, null).run();
        }
        JsonArray losses = run.getAsJsonArray("losses");
        JsonArray norms = run.getAsJsonArray("grad_norms");
        JsonArray lrs = run.getAsJsonArray("lrs");
        assertThat(recorder.steps).hasSize(losses.size());
        for (int i = 0; i < losses.size(); i++) {
            StepReport r = recorder.steps.get(i);
            assertThat(r.loss()).as("%s step %d loss", runName, i + 1).isCloseTo(losses.get(i).getAsDouble(), within(1e-4));
            assertThat(r.gradNorm()).as("%s step %d grad norm", runName, i + 1)
                    .isCloseTo(norms.get(i).getAsDouble(), within(1e-4 * Math.max(1, norms.get(i).getAsDouble())));
            assertThat(r.learningRate()).as("%s step %d lr", runName, i + 1).isCloseTo(lrs.get(i).getAsDouble(), within(1e-12));
        }
    }
}
