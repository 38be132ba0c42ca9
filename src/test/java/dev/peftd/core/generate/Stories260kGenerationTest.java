package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The real stories260K model through the whole path: tokenizer, KV-cache generation, streaming decode. */
class Stories260kGenerationTest {

    /** Quoted in ../shared/data/README.md as the model's greedy output from BOS. */
    private static final String README_STORY = "Once upon a time, there was a little girl named Lily. She loved to play"
            + " outside in the park. One day, she saw a big, red ball.";

    @Test
    void greedyFromBosTellsTheReadmeStory() throws Exception {
        assumeTrue(TestModels.stories260K().isPresent(), "stories260K not found under " + TestModels.sharedData());
        Path dir = TestModels.stories260K().get();
        try (CausalLm model = ModelLoader.load(dir, Device.cpu()); Tokenizer tokenizer = Tokenizer.load(dir)) {
            long[] bos = {tokenizer.bosTokenId().orElseThrow()};
            StringBuilder streamed = new StringBuilder();
            GenerationResult result = new Generator(model, tokenizer)
                    .generate(bos, GenerationOptions.greedy(60), null, token -> streamed.append(token.text()));
            System.out.println("stories260K greedy via Generator: " + result.text());
            assertThat(result.text()).startsWith(README_STORY);
            assertThat(streamed.toString()).isEqualTo(result.text());
        }
    }
}
