package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.type.TypeReference;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponse;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.finetuning.methods.SupervisedHyperparameters;
import com.openai.models.finetuning.methods.SupervisedMethod;
import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The evaluation loop as OpenAI's Java SDK sees it: a supervised job with a validation file, metrics events whose
 * {@code data} holds {@code valid_loss}, checkpoint metrics, {@code result_files}, and {@code files.content} for the
 * results CSV and for an uploaded file.
 */
@ServiceTest
class OpenAiSdkEvaluationTest {

    @LocalServerPort
    int port;

    @Test
    void theOfficialClientReadsValidationMetricsAndDownloadsFiles() throws IOException {
        Fixtures.readyTinyLlama(TestApi.alpha(port), "tiny-llama");
        OpenAIClient openai = OpenAIOkHttpClient.builder().apiKey(TestApi.ALPHA_KEY)
                .baseUrl("http://localhost:" + port + "/v1").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        byte[] trainBytes = Fixtures.trainingJsonl(4).getBytes(StandardCharsets.UTF_8);
        FileObject train = openai.files().create(FileCreateParams.builder().file(trainBytes)
                .purpose(FilePurpose.FINE_TUNE).build());
        FileObject valid = openai.files().create(FileCreateParams.builder()
                .file(Fixtures.trainingJsonl(2).replace("robot", "teapot").getBytes(StandardCharsets.UTF_8))
                .purpose(FilePurpose.FINE_TUNE).build());

        // 8 records, batch 4, 2 epochs = 4 steps; an evaluation every 2 steps (the context checkpoints every 2 too)
        FineTuningJob created = openai.fineTuning().jobs().create(JobCreateParams.builder()
                .model("tiny-llama").trainingFile(train.id()).validationFile(valid.id()).seed(5L)
                .method(JobCreateParams.Method.builder().type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(SupervisedMethod.builder().hyperparameters(SupervisedHyperparameters.builder()
                                .nEpochs(2L).batchSize(4L).learningRateMultiplier(20.0)
                                .putAdditionalProperty("eval_every", JsonValue.from(2)).build()).build())
                        .build())
                .build());
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            FineTuningJob job = openai.fineTuning().jobs().retrieve(created.id());
            assertThat(job.status()).isNotIn(FineTuningJob.Status.FAILED, FineTuningJob.Status.CANCELLED);
            return job.status().equals(FineTuningJob.Status.SUCCEEDED);
        });
        FineTuningJob done = openai.fineTuning().jobs().retrieve(created.id());

        List<Map<String, Object>> metrics = openai.fineTuning().jobs().listEvents(created.id()).autoPager()
                .stream().filter(e -> e.type().map(FineTuningJobEvent.Type.METRICS::equals).orElse(false))
                .map(e -> e._data().convert(new TypeReference<Map<String, Object>>() { })).toList();
        assertThat(metrics).filteredOn(d -> d.containsKey("valid_loss"))
                .extracting(d -> ((Number) d.get("step")).intValue()).containsExactlyInAnyOrder(2, 4);
        assertThat(metrics).anySatisfy(d -> assertThat(d).containsKeys("full_valid_loss",
                "full_valid_mean_token_accuracy"));
        assertThat(metrics).filteredOn(d -> d.containsKey("train_loss"))
                .allSatisfy(d -> assertThat(d).containsKey("train_mean_token_accuracy"));
        List<FineTuningJobCheckpoint> checkpoints = openai.fineTuning().jobs().checkpoints().list(created.id())
                .autoPager().stream().toList();
        assertThat(checkpoints).isNotEmpty()
                .allSatisfy(c -> assertThat(c.metrics().validLoss()).as("step %d", c.stepNumber()).isPresent());

        assertThat(done.resultFiles()).hasSize(1);
        String csv = text(openai.files().content(done.resultFiles().get(0)));
        assertThat(csv).startsWith("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,");
        assertThat(csv.lines()).hasSize(5);
        assertThat(openai.files().retrieve(done.resultFiles().get(0)).purpose().asString())
                .isEqualTo("fine-tune-results");
        assertThat(text(openai.files().content(train.id()))).isEqualTo(new String(trainBytes, StandardCharsets.UTF_8));
    }

    private static String text(HttpResponse response) throws IOException {
        try (response; InputStream body = response.body()) {
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
