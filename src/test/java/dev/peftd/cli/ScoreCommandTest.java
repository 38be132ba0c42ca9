package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loss and logits against transformers (fixtures/generate/score.json and the models' reference.safetensors). */
class ScoreCommandTest {

    private static JsonObject fixture() throws IOException {
        Path file = TestModels.tinyLlama().getParent().getParent().resolve("generate/score.json");
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-gpt2"})
    void theLossOfATextIsTransformersLoss(String model) throws IOException {
        JsonObject fixture = fixture();
        CliRun run = CliRun.of("score", "--model", TestModels.tiny(model).toString(), "--text",
                fixture.get("text").getAsString(), "--json");

        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject json = JsonParser.parseString(run.out()).getAsJsonObject();
        double expected = fixture.getAsJsonObject(model).get("text_loss").getAsDouble();
        assertThat(json.get("loss").getAsDouble()).isCloseTo(expected, within(1e-4));
        assertThat(json.get("perplexity").getAsDouble()).isCloseTo(Math.exp(expected), within(1e-2));
        assertThat(json.has("logits")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-gpt2"})
    void aJsonlFileIsPooledOverAllItsTokens(String model, @TempDir Path tmp) throws IOException {
        JsonObject fixture = fixture();
        Path data = tmp.resolve("eval.jsonl");
        List<String> lines = new ArrayList<>();
        for (var line : fixture.getAsJsonArray("lines")) {
            JsonObject record = new JsonObject();
            record.add("text", line);
            lines.add(record.toString());
        }
        Files.write(data, lines);

        CliRun run = CliRun.of("score", "--model", TestModels.tiny(model).toString(), "--data", data.toString(), "--json");

        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonObject json = JsonParser.parseString(run.out()).getAsJsonObject();
        JsonObject expected = fixture.getAsJsonObject(model);
        assertThat(json.get("loss").getAsDouble()).isCloseTo(expected.get("lines_loss").getAsDouble(), within(1e-4));
        assertThat(json.get("tokens").getAsLong()).isEqualTo(expected.get("lines_tokens").getAsLong());
        CliRun plain = CliRun.of("score", "--model", TestModels.tiny(model).toString(), "--data", data.toString());
        assertThat(plain.out()).startsWith("loss ").contains("perplexity ").contains("in 3 sequences");
    }

    @Test
    void dumpedLogitsAreTheReferenceLogits() throws IOException {
        Path dir = TestModels.tinyLlama();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             SafetensorsFile reference = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            NDArray ids = reference.load("input_ids", manager).get(0);   // [12]
            NDArray logits = reference.load("logits", manager).get(0);   // [12, vocab]
            long[] idArray = ids.toLongArray();
            String idList = java.util.Arrays.stream(idArray).mapToObj(Long::toString).collect(Collectors.joining(","));

            CliRun run = CliRun.of("score", "--model", dir.toString(), "--input-ids", idList, "--dump-logits", "--json");

            assertThat(run.exitCode()).as(run.err()).isZero();
            JsonArray dumped = JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonArray("logits");
            assertThat(maxLogitDiff(dumped, logits)).isLessThan(1e-4);
        }
    }

    @Test
    void dtypeBfloat16DumpsTransformersBfloat16Logits() throws Exception {
        Path dir = TestModels.tinyLlama();
        Path half = Path.of(getClass().getClassLoader().getResource("fixtures/half/tiny-llama-bfloat16.safetensors").toURI());
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             SafetensorsFile reference = SafetensorsFile.open(half)) {
            long[] idArray = reference.load("input_ids", manager).get(0).toLongArray();
            NDArray logits = reference.load("logits", manager).get(0);   // [12, vocab], bf16 values
            String idList = java.util.Arrays.stream(idArray).mapToObj(Long::toString).collect(Collectors.joining(","));

            CliRun run = CliRun.of("score", "--model", dir.toString(), "--dtype", "bfloat16", "--input-ids", idList,
                    "--dump-logits", "--json");

            assertThat(run.exitCode()).as(run.err()).isZero();
            JsonArray dumped = JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonArray("logits");
            double maxDiff = maxLogitDiff(dumped, logits);
            assertThat(maxDiff).isLessThan(0.1).isGreaterThan(0.0); // bf16 noise (HalfParityTest), not float32's 1e-6
        }
    }

    /**
     * @param dumped the {@code logits} of {@code score --dump-logits --json}, {@code [T][vocab]}
     * @param want   {@code [T, vocab]}
     */
    static double maxLogitDiff(JsonArray dumped, NDArray want) {
        float[] flat = want.toFloatArray();
        int vocab = (int) want.getShape().get(1);
        assertThat(dumped.size()).isEqualTo(want.getShape().get(0));
        double maxDiff = 0;
        for (int t = 0; t < dumped.size(); t++) {
            JsonArray row = dumped.get(t).getAsJsonArray();
            assertThat(row.size()).isEqualTo(vocab);
            for (int v = 0; v < vocab; v++) {
                maxDiff = Math.max(maxDiff, Math.abs(row.get(v).getAsFloat() - flat[t * vocab + v]));
            }
        }
        return maxDiff;
    }

    @Test
    void badInputsGiveOneLineAndExitCode2(@TempDir Path tmp) throws IOException {
        String llama = TestModels.tinyLlama().toString();
        Path data = tmp.resolve("bad.jsonl");
        Files.writeString(data, "{\"text\": \"fine\"}\n{\"prompt\": \"no text\"}\n");
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama, "--data", data.toString()),
                "line 2: expected an object with a \"text\" string");
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama, "--data", tmp.resolve("none.jsonl").toString()),
                "cannot read");
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama, "--input-ids", "5"),
                "at least 2 tokens");
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama, "--text", "x", "--dump-logits"),
                "--dump-logits needs --json");
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama), "exactly one of --text");
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama, "--dtype", "int8", "--text", "x"),
                "--dtype: unknown dtype 'int8' (use one of auto, bfloat16, float16, float32)");
    }
}
