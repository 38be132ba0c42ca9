package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {

    private static final String LLAMA = TestModels.tinyLlama().toString();

    private static JsonObject greedyFixture() throws IOException {
        Path file = TestModels.tinyLlama().getParent().getParent().resolve("generate/greedy.json");
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject().getAsJsonObject("tiny-llama");
    }

    private static long[] ids(JsonElement array) {
        return array.getAsJsonArray().asList().stream().mapToLong(JsonElement::getAsLong).toArray();
    }

    @Test
    void jsonHasTheTextAndThePromptFollowedByTheGeneratedIds() throws IOException {
        JsonObject expected = greedyFixture();
        CliRun run = CliRun.of("generate", "--model", LLAMA, "--prompt", expected.get("prompt").getAsString(),
                "--max-tokens", "24", "--json");

        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject json = JsonParser.parseString(run.out()).getAsJsonObject();
        assertThat(json.keySet()).containsExactly("text", "token_ids");
        long[] want = Stream.of(ids(expected.get("prompt_ids")), ids(expected.get("generated_ids")))
                .flatMapToLong(java.util.Arrays::stream).toArray();
        assertThat(ids(json.get("token_ids"))).containsExactly(want);
        assertThat(json.get("text").getAsString()).isEqualTo(expected.get("text").getAsString());
    }

    @Test
    void inputIdsAreUsedAsGivenAndPlainOutputIsTheText() {
        CliRun json = CliRun.of("generate", "--model", LLAMA, "--input-ids", "1, 40,41", "--max-tokens", "6", "--json");
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonObject object = JsonParser.parseString(json.out()).getAsJsonObject();
        assertThat(ids(object.get("token_ids"))).startsWith(1, 40, 41).hasSizeLessThanOrEqualTo(9);

        CliRun plain = CliRun.of("generate", "--model", LLAMA, "--input-ids", "1,40,41", "--max-tokens", "6");
        assertThat(plain.exitCode()).isZero();
        assertThat(plain.out()).isEqualTo(object.get("text").getAsString() + System.lineSeparator());
    }

    @Test
    void chatWrapsThePromptInTheChatTemplate() {
        String qwen = TestModels.tinyQwen2().toString();
        CliRun run = CliRun.of("generate", "--model", qwen, "--prompt", "Hi", "--chat", "--max-tokens", "3", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        long[] ids = ids(JsonParser.parseString(run.out()).getAsJsonObject().get("token_ids"));
        try (var tokenizer = dev.peftd.core.tokenizer.Tokenizer.load(TestModels.tinyQwen2())) {
            long[] chat = tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", false);
            assertThat(ids).startsWith(chat);
        }
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--prompt", "Hi", "--chat", "--max-tokens", "3"),
                "no 'chat_template'");
    }

    @Test
    void theSameSeedSamplesTheSameText() {
        String[] args = {"generate", "--model", LLAMA, "--prompt", "Hello", "--max-tokens", "12", "--temperature", "0.9",
                "--top-p", "0.9", "--seed", "7", "--json"};
        CliRun first = CliRun.of(args);
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(CliRun.of(args).out()).isEqualTo(first.out());
    }

    @Test
    void badArgumentsGiveOneLineAndExitCode2(@TempDir Path tmp) {
        assertUsageError(CliRun.of("generate", "--model", tmp.resolve("nope").toString(), "--prompt", "x", "--max-tokens", "3"),
                "directory does not exist");
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--input-ids", "1,x", "--max-tokens", "3"),
                "'x' is not a token id");
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--input-ids", "1,999", "--max-tokens", "3"),
                "outside the vocabulary");
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--prompt", "x"), "--max-tokens is required");
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--prompt", "x", "--input-ids", "1", "--max-tokens", "2"),
                "exactly one of --prompt or --input-ids");
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--prompt", "x", "--max-tokens", "2", "--temperature", "-1"),
                "--temperature");
        assertUsageError(CliRun.of("generate", "--model", LLAMA, "--prompt", "x", "--max-tokens", "2", "--beam", "4"),
                "unknown option --beam");
        assertUsageError(CliRun.of("generate", "--model", "hf://not a repo", "--prompt", "x", "--max-tokens", "2"),
                "not of the form org/name");
    }

    @Test
    void aCorruptWeightsFileIsNamed(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(TestModels.tinyLlama())) {
            for (Path file : files.toList()) {
                Files.copy(file, model.resolve(file.getFileName()));
            }
        }
        byte[] weights = Files.readAllBytes(model.resolve("model.safetensors"));
        Files.write(model.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 3));

        assertUsageError(CliRun.of("generate", "--model", model.toString(), "--prompt", "x", "--max-tokens", "2"),
                "model.safetensors");
    }

    static void assertUsageError(CliRun run, String expected) {
        assertThat(run.exitCode()).as("exit code; stderr: %s", run.err()).isEqualTo(Cli.USAGE_ERROR);
        assertThat(run.err()).contains(expected);
        assertThat(run.err().strip().lines().count()).as("one line: %s", run.err()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
    }
}
