package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.cli.Cli;
import dev.peftd.core.adapter.Method;
import dev.peftd.core.model.TestModels;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The same method with no hyperparameters, trained by {@code java -jar peftd.jar train} and by the API on the same
 * model and data, gives the same {@code adapter_config.json}, byte for byte except the base model's name (the API
 * writes the model id users registered, the command line the {@code --model} it was given). Before the settings had
 * one owner, LoRA's alpha was 2r over the API and 8 on the command line, so every LoRA-family config differed.
 */
@ServiceTest
class CliAndApiAdapterConfigTest {

    private static final String BASE_MODEL_NAME = "\"base_model_name_or_path\": \"";

    @LocalServerPort
    int port;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Method.class)
    void theCommandLineAndTheApiWriteTheSameAdapterConfig(Method method) throws IOException {
        TestApi api = TestApi.alpha(port);
        Fixtures.readyTinyLlama(api, "tiny-llama");
        String jobId = api.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama",
                "training_file", Fixtures.uploadTrainingFile(api), "method", Map.of("type", method.id())))
                .json().path("id").asString();

        Path data = Files.writeString(dir.resolve("train.jsonl"), Fixtures.trainingJsonl(4));
        Path out = dir.resolve("cli-" + method.id());
        String model = TestModels.tinyLlama().toString();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cli.run(new String[] {"train", "--model", model, "--data", data.toString(),
                "--method", method.id(), "--out", out.toString(), "--json"},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        String fromCli = Files.readString(out.resolve("adapter_config.json"));

        await().atMost(Duration.ofSeconds(180)).until(() -> !api.get("/v1/fine_tuning/jobs/" + jobId).json()
                .path("status").asString().matches("queued|running"));
        assertThat(api.get("/v1/fine_tuning/jobs/" + jobId).json().path("status").asString()).isEqualTo("succeeded");
        String fromApi = adapterConfigIn(api.get("/v1/fine_tuning/jobs/" + jobId + "/adapter").bytes());

        assertThat(fromApi).contains(BASE_MODEL_NAME + "tiny-llama\"");
        assertThat(fromCli).contains(BASE_MODEL_NAME + model + "\"");
        assertThat(fromCli.replace(BASE_MODEL_NAME + model + "\"", BASE_MODEL_NAME + "tiny-llama\""))
                .isEqualTo(fromApi);
    }

    private static String adapterConfigIn(byte[] zip) throws IOException {
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                if (e.getName().equals("adapter_config.json")) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
            }
        }
        throw new AssertionError("the adapter zip has no adapter_config.json");
    }
}
