package dev.peftd.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IncrementalDecoderTest {

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel-chatml", "bytelevel-llama3", "bytefallback-llama2"})
    void streamedPiecesConcatenateToTheDecodedText(String name) throws IOException {
        JsonObject expected = TokenizerFixtures.expected(name);
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory(name))) {
            for (JsonElement element : expected.getAsJsonArray("cases")) {
                JsonObject c = element.getAsJsonObject();
                List<String> pieces = stream(tokenizer, new long[0], TokenizerFixtures.ids(c.get("ids")));
                assertThat(String.join("", pieces)).isEqualTo(c.get("decoded_skip_special").getAsString());
                assertThat(pieces).as("no piece carries half a character").noneMatch(p -> p.contains("\uFFFD"));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel-chatml", "bytefallback-llama2"})
    void multiByteCharactersSplitAcrossTokensArriveWhole(String name) {
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory(name))) {
            long[] ids = tokenizer.encode("🙂", false);
            assertThat(ids.length).as("the fixture vocabulary splits the emoji into bytes").isGreaterThan(1);
            List<String> pieces = stream(tokenizer, new long[0], ids);
            assertThat(pieces.subList(0, ids.length - 1)).allMatch(String::isEmpty);
            assertThat(pieces.get(ids.length - 1)).isEqualTo("🙂");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel-chatml", "bytelevel-llama3", "bytefallback-llama2"})
    void aContinuationAfterAPromptKeepsItsLeadingSpace(String name) {
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory(name))) {
            long[] prompt = tokenizer.encode("Once upon a time");
            long[] all = tokenizer.encode("Once upon a time there was café 🙂 naïve");
            long[] continuation = Arrays.copyOfRange(all, prompt.length, all.length);
            assertThat(Arrays.copyOf(all, prompt.length)).containsExactly(prompt);
            String expected = tokenizer.decode(all).substring(tokenizer.decode(prompt).length());
            assertThat(expected).startsWith(" there");
            assertThat(String.join("", stream(tokenizer, prompt, continuation))).isEqualTo(expected);
        }
    }

    private static List<String> stream(Tokenizer tokenizer, long[] context, long[] ids) {
        IncrementalDecoder decoder = tokenizer.newIncrementalDecoder(context);
        List<String> pieces = new ArrayList<>();
        for (long id : ids) {
            pieces.add(decoder.add(id));
        }
        String rest = decoder.flush();
        if (!rest.isEmpty()) {
            pieces.add(rest);
        }
        return pieces;
    }
}
