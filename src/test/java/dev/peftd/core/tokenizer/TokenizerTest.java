package dev.peftd.core.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.api.Test;

/** Ids, decoded text and special tokens against transformers 5 (expected.json in each fixture directory). */
class TokenizerTest {

    static final List<String> NAMES = TokenizerFixtures.NAMES;

    @ParameterizedTest
    @FieldSource("NAMES")
    void encodesAndDecodesLikeTransformers(String name) throws IOException {
        JsonObject expected = TokenizerFixtures.expected(name);
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory(name))) {
            for (JsonElement element : expected.getAsJsonArray("cases")) {
                JsonObject c = element.getAsJsonObject();
                String text = c.get("text").getAsString();
                long[] ids = TokenizerFixtures.ids(c.get("ids"));
                assertThat(tokenizer.encode(text)).as("ids of %s", text).containsExactly(ids);
                assertThat(tokenizer.encode(text, false)).as("ids without specials of %s", text)
                        .containsExactly(TokenizerFixtures.ids(c.get("ids_no_special")));
                assertThat(tokenizer.decode(ids, false)).isEqualTo(c.get("decoded").getAsString());
                assertThat(tokenizer.decode(ids)).isEqualTo(c.get("decoded_skip_special").getAsString());
            }
        }
    }

    @ParameterizedTest
    @FieldSource("NAMES")
    void specialTokensComeFromTheConfigAndThePostProcessor(String name) throws IOException {
        JsonObject expected = TokenizerFixtures.expected(name);
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory(name))) {
            JsonElement bos = expected.get("bos_token_id");
            assertThat(tokenizer.bosTokenId().isPresent()).isEqualTo(!bos.isJsonNull());
            if (!bos.isJsonNull()) {
                assertThat(tokenizer.bosTokenId().getAsLong()).isEqualTo(bos.getAsLong());
            }
            assertThat(tokenizer.eosTokenId().getAsLong()).isEqualTo(expected.get("eos_token_id").getAsLong());
            // Llama-style post-processors add BOS; ChatML/byte-level ones do not.
            assertThat(tokenizer.addsBosToken()).isEqualTo(name.contains("llama"));
        }
    }

    /**
     * Special tokens that tokenizer.json has only in its vocabulary (or nowhere) get transformers' ids and match whole
     * in text; the token strings of the fixture's config encode to exactly the id transformers gives them.
     */
    @Test
    void specialTokensOutsideAddedTokensGetTransformersIds() throws IOException {
        JsonObject expected = TokenizerFixtures.expected("vocab-specials-llama2");
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory("vocab-specials-llama2"))) {
            assertThat(expected.getAsJsonObject("special_token_ids").entrySet()).hasSize(5);
            for (var special : expected.getAsJsonObject("special_token_ids").entrySet()) {
                assertThat(tokenizer.encode(special.getKey(), false)).as(special.getKey())
                        .containsExactly(special.getValue().getAsLong());
            }
            assertThat(tokenizer.bosTokenId()).hasValue(1);
        }
    }

    @Test
    void aBosTokenFoundNowhereIsGivenTheNextFreeIdAsTransformersDoes(@TempDir Path dir) throws IOException {
        Files.copy(TokenizerFixtures.directory("bytelevel-chatml").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|newbos|>\", \"eos_token\": \"<|im_end|>\"}");
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            // bytelevel-chatml: a vocabulary of 600 and three added tokens inside it
            assertThat(tokenizer.bosTokenId()).hasValue(600);
            assertThat(tokenizer.encode("a<|newbos|>b", false)).contains(600L);
            assertThat(tokenizer.decode(tokenizer.encode("a<|newbos|>b", false))).isEqualTo("ab");
        }
    }

    @Test
    void encodingAPromptAddsBosExactlyOnce() {
        try (Tokenizer tokenizer = Tokenizer.load(TokenizerFixtures.directory("bytefallback-llama2"))) {
            long bos = tokenizer.bosTokenId().getAsLong();
            long[] ids = tokenizer.encode("Once upon a time");
            assertThat(ids[0]).isEqualTo(bos);
            assertThat(ids[1]).isNotEqualTo(bos);
        }
    }

    @Test
    void aDirectoryWithoutTokenizerJsonIsNamedInTheError(@TempDir Path dir) {
        assertThatThrownBy(() -> Tokenizer.load(dir)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining(dir.resolve("tokenizer.json").toString()).hasMessageContaining("not found");
    }

    @Test
    void aCorruptTokenizerJsonIsNamedInTheError(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": 42");
        assertThatThrownBy(() -> Tokenizer.load(dir)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.json").hasMessageContaining("not a valid tokenizer file");
    }

    @Test
    void aBadChatTemplateEntryIsNamedInTheError(@TempDir Path dir) throws IOException {
        Files.copy(TokenizerFixtures.directory("bytelevel-chatml").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"template\": \"x\"}]}");
        assertThatThrownBy(() -> Tokenizer.load(dir)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer_config.json").hasMessageContaining("'name' and 'template'");
    }
}
