package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.data.DataOrder;
import dev.peftd.core.train.data.Packing;
import dev.peftd.core.train.data.TokenizedExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real pretrained stories260K (TinyStories) adapted to Shakespeare: every method lowers the held-out loss.
 * Skips when ../shared/data is absent.
 */
class Stories260kTrainingTest {

    private static final int SEQ = 128;
    private static CausalLm model;
    private static TrainingData data;

    @BeforeAll
    static void load() throws Exception {
        Optional<Path> dir = TestModels.stories260K();
        Path text = TestModels.sharedData().resolve("text/tinyshakespeare.txt");
        assumeTrue(dir.isPresent() && Files.isRegularFile(text), "../shared/data not present");
        model = ModelLoader.load(dir.get());
        try (Tokenizer tokenizer = Tokenizer.load(dir.get())) {
            // the first 60k characters as one token stream, packed into 128-token sequences
            long[] ids = tokenizer.encode(Files.readString(text).substring(0, 60_000), true);
            boolean[] trained = new boolean[ids.length];
            Arrays.fill(trained, true);
            List<TokenizedExample> packed = Packing.pack(List.of(new TokenizedExample(
                    Arrays.stream(ids).mapToInt(Math::toIntExact).toArray(), trained)), SEQ);
            List<List<TokenizedExample>> split = DataOrder.split(packed, 0.1, 1);
            data = new TrainingData(split.get(0), split.get(1), 0);
        }
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static AdapterConfig config(String method) {
        LoraConfig lora = new LoraConfig(8, 16, 0.0, false, TargetModules.allLinear(), null, null);
        return switch (method) {
            case "lora" -> lora;
            case "lora_fa" -> new LoraFaConfig(lora, true);
            case "lora_plus" -> new LoraPlusConfig(lora, 16);
            case "delta_lora" -> new DeltaLoraConfig(lora, 2, 9);
            default -> VeraConfig.of(64, TargetModules.allLinear());
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "lora_fa", "lora_plus", "vera", "delta_lora"})
    void everyMethodLowersHeldOutLoss(String method) {
        TrainingConfig config = TrainingConfig.builder().lr(method.equals("vera") ? 1e-2 : 3e-3).steps(20)
                .batchSize(4).warmupSteps(2).seed(3).build();
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, config(method), 3)) {
            TrainingResult result = new TrainingRun(model, adapter, data, config, TrainingListener.NONE, null).run();
            assertThat(result.evalAfter()).as(method).isLessThan(result.evalBefore() - 0.2);
        }
    }
}
