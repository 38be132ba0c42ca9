package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The legacy completions logprobs object as OpenAI shows it, on real tokenizers (byte-level BPE, SentencePiece with
 * byte fallback): token strings that join back to the text with their leading spaces, pieces of a multi-byte character
 * as {@code bytes:\xNN}, text offsets in code points, and top_logprobs keys that never collide.
 */
class LegacyLogprobsTest {

    @AutoClose
    private static final ServingFixtures serving = new ServingFixtures();

    @Test
    void byteLevelTokensJoinBackToTheTextAndSplitCharactersShowTheirBytes() {
        try (Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            assertEchoedTextRebuilds(tokenizer, "héllo wörld, ’quoted’ 日本語 ok");
        }
    }

    @Test
    void sentencePieceTokensKeepTheirLeadingSpacesAndByteFallbackPiecesShowTheirBytes() {
        try (Tokenizer tokenizer = Tokenizer.load(tokenizerFixture("bytefallback-llama2"))) {
            String text = "Once upon a time, ∑ über café";
            CompletionResponse.Logprobs lp = assertEchoedTextRebuilds(tokenizer, text);
            assertThat(lp.tokens().get(0)).isEqualTo("<s>");
            assertThat(lp.tokens().stream().skip(1).filter(t -> !t.isEmpty()).findFirst().orElseThrow())
                    .as("the text's first space is stripped, as in the text").startsWith("O");
            assertThat(lp.tokens()).anyMatch(t -> t.startsWith(" ") && !t.isBlank()); // " upon", " a", ...
            assertThat(lp.tokens()).contains("bytes:\\xe2"); // ∑ = e2 88 91, one byte-fallback token each
            int split = lp.tokens().indexOf("bytes:\\xe2");
            assertThat(lp.tokens().subList(split, split + 3)).containsExactly("bytes:\\xe2", "bytes:\\x88", "bytes:\\x91");
            assertThat(lp.textOffset().subList(split, split + 3)).as("every piece starts where ∑ does")
                    .containsOnly(text.indexOf('∑'));
            assertThat(lp.textOffset().get(split + 3)).isEqualTo(text.indexOf('∑') + 1);
        }
    }

    @Test
    void twoIdsWithTheSameTextKeepTheMoreLikelyInTopLogprobs() throws Exception {
        Path dir = tokenizerFixture("bytefallback-llama2");
        JsonObject vocab = JsonParser.parseString(Files.readString(dir.resolve("tokenizer.json"))).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("vocab");
        long byteA = vocab.get("<0x41>").getAsLong();
        long letterA = vocab.get("A").getAsLong();
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            long[] context = tokenizer.encode("x");
            LegacyLogprobs list = new LegacyLogprobs(tokenizer, context, 1);
            list.add(new TokenLogprob(letterA, "A", -1.0, List.of(new TokenLogprob.Alternative(byteA, "?", -0.5),
                    new TokenLogprob.Alternative(letterA, "A", -1.0))));
            CompletionResponse.Logprobs lp = list.take();
            assertThat(lp.tokens()).containsExactly("A");
            assertThat(lp.topLogprobs().get(0)).isEqualTo(Map.of("A", -0.5));
        }
    }

    @Test
    void bytesAreShownInOpenAisForm() {
        assertThat(LegacyLogprobs.escaped(new byte[] {(byte) 0xe9, (byte) 0x80})).isEqualTo("bytes:\\xe9\\x80");
        assertThat(LegacyLogprobs.escaped(new byte[] {' ', (byte) 0xe2, '\\'})).isEqualTo("bytes: \\xe2\\x5c");
    }

    @Test
    void completionTokensJoinBackToTheReturnedTextAndOffsetsCountThePromptFirst() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        String prompt = "Once upon a time";
        CompletionRequest greedy = CompletionRequest.of(model.name(), prompt, 12).withSampling(0.0, null, null);
        CompletionResponse plain = serving.completions.complete(model, greedy.withLogprobs(3, false));
        CompletionResponse.Choice choice = plain.choices().get(0);
        Tokenizer tokenizer = serving.engine.bases().get(model.baseDir()).tokenizer();
        assertThat(rebuilt(choice.logprobs().tokens())).isEqualTo(choice.text());
        assertThat(choice.logprobs().textOffset().get(0)).as("OpenAI counts the prompt's text first, echoed or not")
                .isEqualTo(prompt.length());

        CompletionResponse echoed = serving.completions.complete(model, greedy.withLogprobs(3, true));
        CompletionResponse.Choice echo = echoed.choices().get(0);
        assertThat(echo.text()).isEqualTo(prompt + choice.text());
        assertThat(rebuilt(echo.logprobs().tokens())).isEqualTo(echo.text());
        assertThat(echo.logprobs().textOffset().get(0)).isZero();
        assertThat(echo.logprobs().tokenLogprobs().get(0)).isNull();
        assertThat(echo.logprobs().topLogprobs().get(0)).isNull();
        int promptTokens = tokenizer.encode(prompt).length;
        assertThat(echo.logprobs().tokens().subList(promptTokens, echo.logprobs().tokens().size()))
                .isEqualTo(choice.logprobs().tokens());
        assertThat(echo.logprobs().textOffset().subList(promptTokens, echo.logprobs().tokens().size()))
                .isEqualTo(choice.logprobs().textOffset());
        for (int i = 0; i < echo.logprobs().tokens().size(); i++) {
            String token = echo.logprobs().tokens().get(i);
            if (!List.of("<s>", "</s>").contains(token) && !token.startsWith("bytes:")) {
                assertThat(echo.text().substring(echo.logprobs().textOffset().get(i))).startsWith(token);
            }
            if (i > 0) {
                assertThat(echo.logprobs().topLogprobs().get(i)).hasSizeBetween(1, 3);
            }
        }
    }

    @Test
    void tokensOfAStopStringTheTextWasCutAtAreLeftOut() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        CompletionRequest greedy = CompletionRequest.of(model.name(), "Once upon a time", 16).withSampling(0.0, null, null)
                .withLogprobs(1, false);
        CompletionResponse.Choice whole = serving.completions.complete(model, greedy).choices().get(0);
        String full = whole.text();
        List<String> tokens = whole.logprobs().tokens();
        String stop = null;
        for (int k = tokens.size() / 2; k < tokens.size() - 1 && stop == null; k++) { // a stop string on token bounds
            String candidate = tokens.get(k) + tokens.get(k + 1);
            int at = whole.logprobs().textOffset().get(k) - "Once upon a time".length();
            if (!candidate.contains("bytes:") && !candidate.isEmpty() && full.indexOf(candidate) == at) {
                stop = candidate;
            }
        }
        assertThat(stop).as("a stop string in " + tokens).isNotNull();
        CompletionRequest stopped = new CompletionRequest(greedy.model(), greedy.prompt(), 16, 0.0, null, null, stop,
                null, null, null, 1, null, null, null, null, null, null, null);
        CompletionResponse.Choice cut = serving.completions.complete(model, stopped).choices().get(0);
        assertThat(cut.finishReason()).isEqualTo("stop");
        assertThat(full).startsWith(cut.text());
        assertThat(rebuilt(cut.logprobs().tokens())).isEqualTo(cut.text());
    }

    @Test
    void storiesTokensReadAsTheirTextWithSpacesAndBytes() {
        Assumptions.assumeTrue(TestModels.stories260K().isPresent(), "../shared/data/models/stories260K is absent");
        ServedModel model = ServedModel.base("stories260K", TestModels.stories260K().orElseThrow());
        String prompt = "Once upon a time, a café ∑";
        CompletionResponse.Choice choice = serving.completions.complete(model, CompletionRequest.of(model.name(), prompt,
                8).withSampling(0.0, null, null).withLogprobs(2, true)).choices().get(0);
        List<String> tokens = choice.logprobs().tokens();
        assertThat(tokens.subList(0, 4)).containsExactly("<s>", "Once", " upon", " a");
        assertThat(tokens).containsSubsequence("é", " ", "bytes:\\xe2", "bytes:\\x88", "bytes:\\x91");
        assertThat(rebuilt(tokens)).isEqualTo(choice.text()).startsWith(prompt);
        int piece = tokens.indexOf("bytes:\\x88");
        assertThat(choice.logprobs().textOffset().get(piece)).isEqualTo(prompt.indexOf('∑'));
    }

    /** Echoes {@code text}'s ids through the list (made-up logprobs) and checks the strings rebuild its decoded text. */
    private static CompletionResponse.Logprobs assertEchoedTextRebuilds(Tokenizer tokenizer, String text) {
        long[] ids = tokenizer.encode(text);
        LegacyLogprobs list = new LegacyLogprobs(tokenizer, new long[0], 0);
        list.addUnscored(ids[0]);
        for (int i = 1; i < ids.length; i++) {
            list.add(new TokenLogprob(ids[i], "?", -i, List.of()));
        }
        CompletionResponse.Logprobs lp = list.take();
        assertThat(lp.tokens()).hasSize(ids.length);
        assertThat(lp.tokens()).anyMatch(t -> t.startsWith("bytes:\\x"));
        assertThat(rebuilt(lp.tokens())).isEqualTo(tokenizer.decode(ids)).isEqualTo(text);
        assertThat(lp.tokenLogprobs().get(0)).isNull();
        for (int i = 0; i < ids.length; i++) {
            String token = lp.tokens().get(i);
            int offset = lp.textOffset().get(i);
            if (!token.startsWith("bytes:") && !tokenizer.isSpecial(ids[i])) {
                int at = text.offsetByCodePoints(0, offset);
                assertThat(text.substring(at)).as("token " + i + " " + token).startsWith(token);
            }
        }
        return lp;
    }

    /** The text the strings stand for: special tokens dropped, runs of byte pieces decoded as UTF-8. */
    static String rebuilt(List<String> tokens) {
        StringBuilder text = new StringBuilder();
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        for (String token : tokens) {
            if (token.startsWith("bytes:")) {
                String rest = token.substring("bytes:".length());
                for (int i = 0; i < rest.length(); ) {
                    if (rest.startsWith("\\x", i)) {
                        pending.write(Integer.parseInt(rest.substring(i + 2, i + 4), 16));
                        i += 4;
                    } else {
                        pending.write(rest.charAt(i++));
                    }
                }
                continue;
            }
            text.append(pending.toString(StandardCharsets.UTF_8));
            pending.reset();
            if (!List.of("<s>", "</s>", "<unk>").contains(token)) {
                text.append(token);
            }
        }
        return text.append(pending.toString(StandardCharsets.UTF_8)).toString();
    }

    private static Path tokenizerFixture(String name) {
        try {
            return Path.of(LegacyLogprobsTest.class.getResource("/fixtures/tokenizers/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
