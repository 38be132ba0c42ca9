package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code generate --adapter} and {@code score --adapter}: a PEFT adapter directory applied unmerged on the base model,
 * checked against PEFT's own logits (expected.safetensors of tools/reference/make_adapter_fixtures.py) and against
 * the checkpoint {@code merge} writes.
 */
class AdapterOptionTest {

    @TempDir
    Path tmp;

    /** Row 0 of the fixture's fixed input, scored with the adapter: PEFT's logits and the loss they give. */
    @ParameterizedTest
    @CsvSource({"llama-lora, tiny-llama", "llama-vera, tiny-llama", "llama-vera-noproj, tiny-llama",
            "gpt2-lora, tiny-gpt2", "qwen2-lora-all, tiny-qwen2"})
    void scoreWithAnAdapterGivesPeftsLogitsAndLoss(String adapter, String model) throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             SafetensorsFile expected = SafetensorsFile.open(
                     AdapterCommandsTest.fixture(adapter).resolve("expected.safetensors"))) {
            long[] ids = expected.load("input_ids", m).get(0).toLongArray();   // [12]
            NDArray peftLogits = expected.load("logits", m).get(0);           // [12, vocab]
            String[] args = {"score", "--model", TestModels.tiny(model).toString(), "--input-ids", idList(ids),
                    "--dump-logits", "--json", "--dtype", "float32"};   // PEFT's logits are float32's (tiny-qwen2 is bf16)

            CliRun adapted = CliRun.of(append(args, "--adapter", AdapterCommandsTest.fixture(adapter).toString()));
            CliRun base = CliRun.of(args);

            assertThat(adapted.exitCode()).as(adapted.err()).isZero();
            JsonObject json = JsonParser.parseString(adapted.out()).getAsJsonObject();
            assertThat(ScoreCommandTest.maxLogitDiff(json.getAsJsonArray("logits"), peftLogits)).isLessThan(1e-4);
            assertThat(json.get("loss").getAsDouble()).isCloseTo(meanNextTokenLoss(peftLogits, ids), within(1e-5));
            // without --adapter the same command is far from PEFT's adapted logits: the option is what changed them
            JsonObject plain = JsonParser.parseString(base.out()).getAsJsonObject();
            assertThat(ScoreCommandTest.maxLogitDiff(plain.getAsJsonArray("logits"), peftLogits)).isGreaterThan(1e-2);
        }
    }

    @Test
    void scoreAndGenerateWithAnAdapterEqualTheMergedModel() throws Exception {
        String base = TestModels.tinyLlama().toString();
        String adapter = AdapterCommandsTest.fixture("llama-lora").toString();
        Path merged = tmp.resolve("merged");
        CliRun merge = CliRun.of("merge", "--model", base, "--adapter", adapter, "--out", merged.toString());
        assertThat(merge.exitCode()).as(merge.err()).isZero();
        String text = "Once upon a time, there was a little girl.";

        CliRun unmerged = CliRun.of("score", "--model", base, "--adapter", adapter, "--text", text, "--json");
        CliRun mergedScore = CliRun.of("score", "--model", merged.toString(), "--text", text, "--json");
        assertThat(unmerged.exitCode()).as(unmerged.err()).isZero();
        assertThat(loss(unmerged)).isCloseTo(loss(mergedScore), within(1e-5));
        assertThat(loss(unmerged)).isNotCloseTo(loss(CliRun.of("score", "--model", base, "--text", text, "--json")),
                within(1e-3));

        String[] generate = {"generate", "--input-ids", "1,40,41", "--max-tokens", "12", "--json", "--model"};
        CliRun generatedUnmerged = CliRun.of(append(generate, base, "--adapter", adapter));
        assertThat(generatedUnmerged.exitCode()).as(generatedUnmerged.err()).isZero();
        assertThat(tokenIds(generatedUnmerged)).isEqualTo(tokenIds(CliRun.of(append(generate, merged.toString()))))
                .isNotEqualTo(tokenIds(CliRun.of(append(generate, base))));
    }

    @Test
    void aBadAdapterIsOneLineNamingTheOption() {
        String llama = TestModels.tinyLlama().toString();
        GenerateCommandTest.assertUsageError(CliRun.of("score", "--model", llama, "--text", "Hello there",
                "--adapter", tmp.resolve("none").toString()), "--adapter " + tmp.resolve("none") + ": directory does not exist");
        GenerateCommandTest.assertUsageError(CliRun.of("generate", "--model", llama, "--prompt", "Hi", "--max-tokens", "2",
                "--adapter", tmp.toString()), "adapter_config.json");
    }

    /** Mean of −log softmax(logits[t])[ids[t+1]] in double precision, as transformers' loss with labels = ids. */
    private static double meanNextTokenLoss(NDArray logits, long[] ids) {
        float[] flat = logits.toFloatArray();
        int vocab = (int) logits.getShape().get(1);
        double total = 0;
        for (int t = 0; t + 1 < ids.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, flat[t * vocab + v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(flat[t * vocab + v] - max);
            }
            total += max + Math.log(sum) - flat[t * vocab + (int) ids[t + 1]];
        }
        return total / (ids.length - 1);
    }

    private static double loss(CliRun run) {
        return JsonParser.parseString(run.out()).getAsJsonObject().get("loss").getAsDouble();
    }

    private static String tokenIds(CliRun run) {
        return JsonParser.parseString(run.out()).getAsJsonObject().get("token_ids").toString();
    }

    private static String idList(long[] ids) {
        return Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    private static String[] append(String[] args, String... more) {
        String[] all = Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }
}
