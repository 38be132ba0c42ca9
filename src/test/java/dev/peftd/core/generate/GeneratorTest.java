package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Generation on the tiny fixture models, against transformers' generate (fixtures/generate/greedy.json). */
class GeneratorTest {

    static final List<String> MODELS = TestModels.TINY;
    private static CausalLm llama;
    private static Tokenizer llamaTokenizer;

    @BeforeAll
    static void loadLlama() throws IOException {
        llama = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
        llamaTokenizer = Tokenizer.load(TestModels.tinyLlama());
    }

    @AfterAll
    static void close() {
        llama.close();
        llamaTokenizer.close();
    }

    private static JsonObject expected(String model) throws IOException {
        Path file = Path.of(TestModels.tiny(model).getParent().getParent().resolve("generate/greedy.json").toString());
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject().getAsJsonObject(model);
    }

    private static long[] ids(JsonElement array) {
        return array.getAsJsonArray().asList().stream().mapToLong(JsonElement::getAsLong).toArray();
    }

    @ParameterizedTest
    @FieldSource("MODELS")
    void greedyGenerationMatchesTransformers(String name) throws IOException {
        JsonObject expected = expected(name);
        try (CausalLm model = ModelLoader.load(TestModels.tiny(name), Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tiny(name))) {
            long[] prompt = tokenizer.encode(expected.get("prompt").getAsString());
            assertThat(prompt).containsExactly(ids(expected.get("prompt_ids")));

            List<GeneratedToken> streamed = new ArrayList<>();
            GenerationResult result = new Generator(model, tokenizer)
                    .generate(prompt, GenerationOptions.greedy(24).withLogprobs(3), null, streamed::add);

            long[] want = ids(expected.get("generated_ids"));
            assertThat(result.generatedIds()).containsExactly(want);
            assertThat(result.allIds()).startsWith(prompt).endsWith(want);
            assertThat(result.text()).isEqualTo(expected.get("text").getAsString());
            assertThat(streamed).hasSize(want.length);
            assertThat(String.join("", streamed.stream().map(GeneratedToken::text).toList())).isEqualTo(result.text());
            JsonArray steps = expected.getAsJsonArray("steps");
            for (int i = 0; i < want.length; i++) {
                JsonObject step = steps.get(i).getAsJsonObject();
                TokenLogprob logprob = result.logprobs().get(i);
                assertThat(logprob.logprob()).as("logprob of step %d", i).isCloseTo(step.get("logprob").getAsDouble(), within(1e-4));
                JsonArray top = step.getAsJsonArray("top");
                for (int k = 0; k < top.size(); k++) {
                    assertThat(logprob.top().get(k).tokenId()).isEqualTo(top.get(k).getAsJsonArray().get(0).getAsLong());
                    assertThat(logprob.top().get(k).logprob()).isCloseTo(top.get(k).getAsJsonArray().get(1).getAsDouble(), within(1e-4));
                }
                assertThat(streamed.get(i).logprob()).isSameAs(logprob);
            }
        }
    }

    @Test
    void theSameSeedSamplesTheSameTokens() {
        Generator generator = new Generator(llama, llamaTokenizer);
        long[] prompt = llamaTokenizer.encode("Hello");
        GenerationOptions sampled = GenerationOptions.greedy(30).withSampling(1.0, 0.95, OptionalLong.of(1234));
        GenerationResult first = generator.generate(prompt, sampled);
        GenerationResult again = generator.generate(prompt, sampled);
        GenerationResult otherSeed = generator.generate(prompt, sampled.withSampling(1.0, 0.95, OptionalLong.of(99)));
        GenerationResult greedy = generator.generate(prompt, GenerationOptions.greedy(30));

        assertThat(again.generatedIds()).containsExactly(first.generatedIds());
        assertThat(otherSeed.generatedIds()).isNotEqualTo(first.generatedIds());
        assertThat(greedy.generatedIds()).isNotEqualTo(first.generatedIds());
    }

    @Test
    void aStopStringEndsGenerationAndIsCutFromTheText() {
        Generator generator = new Generator(llama, llamaTokenizer);
        long[] prompt = llamaTokenizer.encode("First Citizen:");
        String full = generator.generate(prompt, GenerationOptions.greedy(40)).text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        String before = full.substring(0, full.indexOf(stop));

        List<String> pieces = new ArrayList<>();
        GenerationResult result = generator.generate(prompt, GenerationOptions.greedy(40).withStopStrings(List.of("@@never", stop)),
                null, token -> pieces.add(token.text()));

        assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_STRING);
        assertThat(result.text()).isEqualTo(before);
        assertThat(String.join("", pieces)).isEqualTo(before);
        assertThat(result.generatedIds().length).isLessThan(40);
    }

    @Test
    void anyOfSeveralStopTokensEndsGeneration() {
        Generator generator = new Generator(llama, llamaTokenizer);
        long[] prompt = llamaTokenizer.encode("First Citizen:");
        long[] free = generator.generate(prompt, GenerationOptions.greedy(20).withStopTokenIds(-1)).generatedIds();
        long stopAt = free[6];
        int firstIndex = 0;
        while (free[firstIndex] != stopAt) {
            firstIndex++;
        }

        GenerationResult result = generator.generate(prompt, GenerationOptions.greedy(20).withStopTokenIds(383, stopAt));

        assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
        assertThat(result.generatedIds()).hasSize(firstIndex + 1).endsWith(stopAt);
        assertThat(generator.generate(prompt, GenerationOptions.greedy(5).withStopTokenIds(-1)).finishReason())
                .isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void theLinearHookReachesTheModel() {
        long forced = 77;
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            float[] boost = new float[llama.config().vocabSize()];
            boost[(int) forced] = 1000f;
            NDArray bias = manager.create(boost); // [vocab]
            LinearHook hook = (module, input, output) -> module.equals("lm_head") ? output.add(bias) : output;
            GenerationResult result = new Generator(llama, llamaTokenizer)
                    .generate(llamaTokenizer.encode("Hello"), GenerationOptions.greedy(5).withStopTokenIds(-1), hook,
                            TokenListener.NONE);
            assertThat(result.generatedIds()).containsOnly(forced);
        }
    }

    @Test
    void nativeArraysDoNotGrowOverAThousandTokens() {
        List<Integer> liveArrays = new ArrayList<>();
        long[] prompt = llamaTokenizer.encode("First Citizen:");
        int before = LiveArrays.count();
        GenerationResult result = new Generator(llama, llamaTokenizer).generate(prompt,
                GenerationOptions.greedy(1000).withStopTokenIds(-1), null, token -> {
                    if (token.index() == 9 || token.index() == 999) {
                        liveArrays.add(LiveArrays.count());
                    }
                });
        assertThat(result.generatedIds()).hasSize(1000);
        System.out.printf("live NDArrays: before %d, at token 10: %d, at token 1000: %d, after %d%n",
                before, liveArrays.get(0), liveArrays.get(1), LiveArrays.count());
        assertThat(liveArrays.get(1)).as("arrays alive at token 1000 vs token 10").isEqualTo(liveArrays.get(0));
        assertThat(LiveArrays.count()).isEqualTo(before);
    }

    @Test
    void aHugeMaxTokensSizesNothingAndAStopRequestEndsGeneration() {
        long[] prompt = llamaTokenizer.encode("First Citizen:");
        int[] seen = {0};
        // was new long[maxTokens] up front: 8 GB for 1e9, an OutOfMemoryError before the first token
        GenerationResult result = new Generator(llama, llamaTokenizer).generate(prompt,
                GenerationOptions.greedy(1_000_000_000).withStopTokenIds(-1), null, token -> seen[0]++,
                () -> seen[0] >= 300); // past the first buffer's 256 tokens, so it has grown once
        assertThat(result.generatedIds()).hasSize(300);
        assertThat(result.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void learnedPositionsEndGenerationAtTheContextWindow() throws IOException {
        try (CausalLm gpt2 = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyGpt2())) {
            long[] prompt = tokenizer.encode("First Citizen:");
            int window = gpt2.config().maxPositionEmbeddings();
            GenerationResult result = new Generator(gpt2, tokenizer)
                    .generate(prompt, GenerationOptions.greedy(500).withStopTokenIds(-1));
            assertThat(result.finishReason()).isEqualTo(FinishReason.LENGTH);
            // the last generated token is never fed back, so it may sit one past the window
            assertThat(prompt.length + result.generatedIds().length).isEqualTo(window + 1);
        }
    }

    @Test
    void badPromptsAreRefusedWithTheReason() {
        Generator generator = new Generator(llama, llamaTokenizer);
        assertThatThrownBy(() -> generator.generate(new long[0], GenerationOptions.greedy(3)))
                .hasMessageContaining("prompt is empty");
        assertThatThrownBy(() -> generator.generate(new long[] {1, 384}, GenerationOptions.greedy(3)))
                .hasMessageContaining("384").hasMessageContaining("outside the vocabulary");
    }
}
