package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterCommandsTest {

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    static Path fixture(String name) throws Exception {
        URL url = AdapterCommandsTest.class.getClassLoader().getResource("fixtures/adapters/" + name);
        return Path.of(url.toURI());
    }

    @Test
    void mergeWritesACheckpointWithPeftsLogits() throws Exception {
        Path merged = tmp.resolve("merged");
        int code = run("merge", "--model", TestModels.tinyGpt2().toString(), "--adapter",
                fixture("gpt2-lora").toString(), "--out", merged.toString());
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("merged lora adapter (4 modules)");
        assertThat(merged.resolve("tokenizer.json")).exists();
        assertThat(merged.resolve("config.json")).exists();
        try (NDManager m = NDManager.newBaseManager(); CausalLm lm = ModelLoader.load(merged);
             SafetensorsFile expected = SafetensorsFile.open(fixture("gpt2-lora").resolve("expected.safetensors"))) {
            NDArray logits = lm.forward(expected.load("input_ids", m), null, null);
            float diff = logits.sub(expected.load("logits", m)).abs().max().getFloat();
            assertThat(diff).isLessThanOrEqualTo(1e-4f);
        }
    }

    @Test
    void analyzePrintsATableOrJson() throws Exception {
        String model = TestModels.tinyLlama().toString();
        assertThat(run("analyze", "--model", model, "--adapter", fixture("llama-vera").toString())).isZero();
        assertThat(out.toString()).contains("method vera").contains("model.layers.1.mlp.down_proj");
        out.reset();
        assertThat(run("analyze", "--model", model, "--adapter", fixture("llama-lora").toString(), "--json"))
                .isZero();
        JsonObject json = JsonParser.parseString(out.toString()).getAsJsonObject();
        assertThat(json.get("method").getAsString()).isEqualTo("lora");
        assertThat(json.getAsJsonArray("modules")).hasSize(14);
        JsonObject down = json.getAsJsonArray("modules").get(6).getAsJsonObject();
        assertThat(down.get("module").getAsString()).isEqualTo("model.layers.0.mlp.down_proj");
        assertThat(down.getAsJsonArray("singular_values")).hasSize(2); // rank_pattern {down_proj: 2}
        assertThat(down.get("numerical_rank").getAsInt()).isEqualTo(2);
    }

    @Test
    void errorsNameTheProblem() throws Exception {
        assertThat(run("merge", "--model", TestModels.tinyLlama().toString(), "--adapter", tmp.toString(),
                "--out", tmp.resolve("o").toString())).isEqualTo(Cli.USAGE_ERROR);
        assertThat(err.toString()).contains("adapter_config.json");
        err.reset();
        // a LoRA made for GPT-2 module names matches nothing on a Llama
        assertThat(run("analyze", "--model", TestModels.tinyLlama().toString(), "--adapter",
                fixture("gpt2-lora").toString())).isEqualTo(Cli.USAGE_ERROR);
        assertThat(err.toString()).contains("target_modules").contains("matches none");
        err.reset();
        assertThat(run("analyze", "--model", tmp.resolve("nope").toString(), "--adapter", tmp.toString()))
                .isEqualTo(Cli.USAGE_ERROR);
        assertThat(err.toString()).contains("--model");
        Files.writeString(tmp.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 4, \"use_dora\": true,"
                + " \"target_modules\": [\"q_proj\"]}");
        err.reset();
        assertThat(run("analyze", "--model", TestModels.tinyLlama().toString(), "--adapter", tmp.toString()))
                .isEqualTo(Cli.USAGE_ERROR);
        assertThat(err.toString()).contains("use_dora");
    }
}
