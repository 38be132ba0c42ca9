package dev.peftd.core.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** JSONL records to token ids and loss targets, with the real tokenizers of the fixtures. */
class JsonlDatasetTest {

    /** Llama-style: adds BOS, EOS {@code </s>}, no chat template. */
    private static Tokenizer llama;
    /** ChatML: no BOS, EOS {@code <|im_end|>}, a chat template with a default system turn. */
    private static Tokenizer chatml;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        llama = Tokenizer.load(TestModels.tinyLlama());
        chatml = Tokenizer.load(Path.of("src/test/resources/fixtures/tokenizers/bytelevel-chatml"));
    }

    @AfterAll
    static void close() {
        llama.close();
        chatml.close();
    }

    private Path file(String... lines) throws IOException {
        Path f = dir.resolve("data.jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    private static int[] ints(long[] ids) {
        return Arrays.stream(ids).mapToInt(Math::toIntExact).toArray();
    }

    @Test
    void textIsTrainedOnEveryTokenAndEndsWithEos() throws IOException {
        JsonlDataset.Loaded loaded = JsonlDataset.read(file("{\"text\": \"Before we proceed any further\"}"), llama, 512);
        TokenizedExample e = loaded.examples().get(0);
        long[] expected = llama.encode("Before we proceed any further", true);
        assertThat(expected[0]).isEqualTo(llama.bosTokenId().getAsLong());
        assertThat(Arrays.copyOf(e.ids(), expected.length)).containsExactly(ints(expected));
        assertThat(e.ids()[e.length() - 1]).isEqualTo((int) llama.eosTokenId().getAsLong());
        assertThat(e.length()).isEqualTo(expected.length + 1);
        assertThat(e.lossTokens()).isEqualTo(e.length() - 1);
    }

    @Test
    void promptCompletionTrainsOnlyTheCompletionAndEos() throws IOException {
        TokenizedExample e = JsonlDataset.read(file("{\"prompt\": \"Question: who?\", \"completion\": \" Hear me speak.\"}"),
                llama, 512).examples().get(0);
        int promptLength = llama.encode("Question: who?", true).length;
        int completionLength = llama.encode(" Hear me speak.", false).length;
        assertThat(e.length()).isEqualTo(promptLength + completionLength + 1);
        for (int i = 0; i < e.length(); i++) {
            assertThat(e.trained()[i]).as("token %d", i).isEqualTo(i >= promptLength);
        }
        assertThat(llama.decode(Arrays.stream(Arrays.copyOfRange(e.ids(), promptLength, e.length())).asLongStream().toArray(), true))
                .isEqualTo(" Hear me speak.");
    }

    @Test
    void messagesTrainOnlyAssistantTurnsAsTheTemplateRendersThem() throws IOException {
        TokenizedExample e = JsonlDataset.read(file("{\"messages\": ["
                + "{\"role\": \"user\", \"content\": \"Hi there\"},"
                + "{\"role\": \"assistant\", \"content\": \"Hello friend\"},"
                + "{\"role\": \"user\", \"content\": \"Speak again\"},"
                + "{\"role\": \"assistant\", \"content\": \"I will\"}]}"), chatml, 512).examples().get(0);
        StringBuilder trained = new StringBuilder();
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < e.length(); i++) {
            String piece = chatml.tokenText(e.ids()[i]);
            all.append(piece);
            if (e.trained()[i]) {
                trained.append(piece);
            }
        }
        assertThat(all.toString()).isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello friend<|im_end|>\n"
                + "<|im_start|>user\nSpeak again<|im_end|>\n<|im_start|>assistant\nI will<|im_end|>\n");
        // the answers with their end-of-turn marker: what the model must learn to produce after "assistant\n"
        assertThat(trained.toString()).isEqualTo("Hello friend<|im_end|>\nI will<|im_end|>\n");
    }

    @Test
    void truncatesToMaxLengthAndSkipsExamplesWithoutTargets() throws IOException {
        String longPrompt = "word ".repeat(40);
        JsonlDataset.Loaded loaded = JsonlDataset.read(file(
                "{\"text\": \"" + "more words ".repeat(30) + "\"}",
                "{\"prompt\": \"" + longPrompt + "\", \"completion\": \"end\"}"), llama, 16);
        assertThat(loaded.examples()).hasSize(1);
        assertThat(loaded.examples().get(0).length()).isEqualTo(16);
        assertThat(loaded.truncated()).isEqualTo(2);
        assertThat(loaded.dropped()).isEqualTo(1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"text\": \"ok\"}\\n\\n{\"text\": \"ok\"|line 3: not valid JSON",
        "[1, 2]|line 1: expected a JSON object, got an array",
        "{\"prompt\": \"p\"}|line 1: \"completion\" is missing",
        "{\"prompt\": \"p\", \"completion\": 3}|line 1: \"completion\" must be a string, got a number",
        "{\"text\": \"\"}|line 1: \"text\" is empty",
        "{\"text\": \"a\", \"prompt\": \"b\", \"completion\": \"c\"}|line 1: expected exactly one of",
        "{\"foo\": 1}|line 1: expected exactly one of",
        "{\"messages\": {}}|line 1: \"messages\" must be an array, got an object",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}|line 1: \"messages\" has no assistant turn",
        "{\"messages\": [{\"role\": \"assistant\"}]}|line 1: messages[0].content is missing",
        "{\"messages\": [{\"role\": 1, \"content\": \"x\"}]}|line 1: messages[0].role must be a string, got a number",
    })
    void badLineFailsFastWithItsNumberAndReason(String content, String message) throws IOException {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, content.replace("\\n", "\n") + "\n");
        assertThatThrownBy(() -> JsonlDataset.read(f, chatml, 512))
                .isInstanceOf(DatasetException.class)
                .hasMessageStartingWith(f + " " + message.substring(0, message.indexOf(':')))
                .hasMessageContaining(message.substring(message.indexOf(':') + 2));
    }

    @Test
    void messagesWithoutAChatTemplateNameTheProblem() throws IOException {
        Path f = file("{\"text\": \"fine\"}", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"},"
                + " {\"role\": \"assistant\", \"content\": \"y\"}]}");
        assertThatThrownBy(() -> JsonlDataset.read(f, llama, 512))
                .hasMessageContaining("line 2").hasMessageContaining("chat template");
    }

    @Test
    void emptyFileAndMissingFileAreErrors() throws IOException {
        assertThatThrownBy(() -> JsonlDataset.read(file(""), llama, 512)).hasMessageContaining("no usable example");
        assertThatThrownBy(() -> JsonlDataset.read(dir.resolve("nope.jsonl"), llama, 512)).hasMessageContaining("cannot read");
    }
}
