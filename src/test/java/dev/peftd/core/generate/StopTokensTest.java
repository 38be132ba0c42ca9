package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StopTokensTest {

    @Test
    void unionsConfigTokenizerAndGenerationConfig(@TempDir Path dir) throws IOException {
        for (String file : new String[] {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(TestModels.tinyLlama().resolve(file), dir.resolve(file));
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [2, 7, 9]}");
        ModelConfig config = ModelLoader.readConfig(dir);
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertThat(StopTokens.forModel(dir, config, tokenizer)).containsExactly(2, 7, 9);
            assertThat(StopTokens.forModel(TestModels.tinyLlama(), config, null)).containsExactly(2);
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"x\"}");
        assertThatThrownBy(() -> StopTokens.forModel(dir, config, null))
                .hasMessageContaining("generation_config.json").hasMessageContaining("eos_token_id");
    }

    @Test
    void aGeneratorForTheDirectoryStopsAtGenerationConfigIds(@TempDir Path dir) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(TestModels.tinyLlama())) {
            for (Path file : files.toList()) {
                Files.copy(file, dir.resolve(file.getFileName()));
            }
        }
        try (CausalLm model = ModelLoader.load(dir, ai.djl.Device.cpu()); Tokenizer tokenizer = Tokenizer.load(dir)) {
            long[] prompt = tokenizer.encode("First Citizen:");
            long[] free = new Generator(model, tokenizer).generate(prompt, GenerationOptions.greedy(12)).generatedIds();
            assertThat(free).hasSize(12).doesNotContain(2L);
            Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [2, " + free[5] + "]}");

            GenerationResult result = Generator.forModelDirectory(dir, model, tokenizer)
                    .generate(prompt, GenerationOptions.greedy(12));

            assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
            assertThat(result.generatedIds()[result.generatedIds().length - 1]).isEqualTo(free[5]);
            assertThat(result.generatedIds().length).isLessThanOrEqualTo(6);
        }
    }
}
