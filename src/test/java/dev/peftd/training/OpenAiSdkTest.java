package dev.peftd.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.NotFoundException;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.models.Model;
import com.openai.models.models.ModelDeleted;
import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/** OpenAI's official Java SDK as the client: what works against OpenAI works against peftd. */
@ServiceTest
class OpenAiSdkTest {

    @LocalServerPort
    int port;

    private OpenAIClient client() {
        return OpenAIOkHttpClient.builder().apiKey(TestApi.ALPHA_KEY)
                .baseUrl("http://localhost:" + port + "/v1").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @Test
    void theOfficialClientUploadsTrainsListsFollowsAndCancels() {
        TestApi http = TestApi.alpha(port);
        Fixtures.readyTinyLlama(http, "tiny-llama");
        OpenAIClient openai = client();

        FileObject file = openai.files().create(FileCreateParams.builder()
                .file(Fixtures.trainingJsonl(4).getBytes(StandardCharsets.UTF_8))
                .purpose(FilePurpose.FINE_TUNE).build());
        assertThat(file.id()).startsWith("file-");

        // OpenAI's own shape: method supervised + hyperparameters; 8 records in batches of 4 are 2 steps an epoch,
        // so peftd's max_steps 4 (an extra property) runs 2 epochs
        FineTuningJob created = openai.fineTuning().jobs().create(JobCreateParams.builder()
                .model("tiny-llama").trainingFile(file.id()).suffix("sdk").seed(5L)
                .method(JobCreateParams.Method.builder().type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(com.openai.models.finetuning.methods.SupervisedMethod.builder()
                                .hyperparameters(com.openai.models.finetuning.methods.SupervisedHyperparameters.builder()
                                        .nEpochs(1L).batchSize(4L).learningRateMultiplier(5.0)
                                        .putAdditionalProperty("max_steps", JsonValue.from(4)).build())
                                .build())
                        .build())
                .build());
        assertThat(created.model()).isEqualTo("tiny-llama");
        assertThat(created.method()).hasValueSatisfying(m -> assertThat(m.type())
                .isEqualTo(FineTuningJob.Method.Type.SUPERVISED));

        await().atMost(Duration.ofSeconds(120)).until(() ->
                openai.fineTuning().jobs().retrieve(created.id()).status().equals(FineTuningJob.Status.SUCCEEDED));
        FineTuningJob done = openai.fineTuning().jobs().retrieve(created.id());
        assertThat(done.fineTunedModel()).contains("ft:tiny-llama:sdk:" + created.id());
        assertThat(done.trainedTokens()).hasValueSatisfying(t -> assertThat(t).isPositive());
        assertThat(openai.fineTuning().jobs().list().autoPager().stream().map(FineTuningJob::id))
                .contains(created.id());
        List<FineTuningJobEvent> events = openai.fineTuning().jobs().listEvents(created.id()).autoPager().stream()
                .toList();
        assertThat(events).extracting(FineTuningJobEvent::message).anyMatch(m -> m.startsWith("Step 4/4"));
        // the method round-trips as asked, and n_epochs is what max_steps came to: 2, in both places
        FineTuningJob.Method method = done.method().orElseThrow();
        assertThat(method.type()).isEqualTo(FineTuningJob.Method.Type.SUPERVISED);
        var supervised = method.supervised().orElseThrow().hyperparameters().orElseThrow();
        assertThat(supervised.nEpochs().orElseThrow().integer()).contains(2L);
        assertThat(supervised.batchSize().orElseThrow().integer()).contains(4L);
        assertThat(supervised.learningRateMultiplier().orElseThrow().number()).contains(5.0);
        assertThat(done.hyperparameters().nEpochs().orElseThrow().integer()).contains(2L);
        assertThat(done.hyperparameters().batchSize().orElseThrow().integer()).contains(4L);
        // epochs in the metrics events count from 1, as n_epochs does: steps 1-2 are epoch 1, steps 3-4 epoch 2
        assertThat(events.stream().filter(e -> e.type().map(t -> t.asString().equals("metrics")).orElse(false))
                .map(e -> e._data().convert(Map.class))
                .map(d -> d.get("step") + ":" + d.get("epoch")))
                .containsExactlyInAnyOrder("1:1", "2:1", "3:2", "4:2");
        assertThat(openai.fineTuning().jobs().checkpoints().list(created.id()).autoPager().stream()
                .map(FineTuningJobCheckpoint::stepNumber)).isNotEmpty();
        assertThat(http.get("/v1/fine_tuning/jobs/" + created.id() + "/adapter").status()).isEqualTo(200);

        // our methods go through the SDK as an extra body property; then cancel with the SDK
        FineTuningJob vera = openai.fineTuning().jobs().create(JobCreateParams.builder()
                .model("tiny-llama").trainingFile(file.id())
                .putAdditionalBodyProperty("method", JsonValue.from(Map.of("type", "vera", "vera",
                        Map.of("hyperparameters", Map.of("r", 16, "max_steps", 100000, "batch_size", 1)))))
                .build());
        FineTuningJob cancelled = openai.fineTuning().jobs().cancel(vera.id());
        assertThat(cancelled.status().asString()).isIn("cancelled", "cancelling");
        await().atMost(Duration.ofSeconds(60)).until(() ->
                openai.fineTuning().jobs().retrieve(vera.id()).status().equals(FineTuningJob.Status.CANCELLED));
    }

    /**
     * Pause and resume, a checkpoint served by name, models.list with checkpoints and uploaded adapters, and
     * models.delete, all through the SDK.
     */
    @Test
    void theOfficialClientPausesResumesServesACheckpointListsAndDeletesModels() {
        TestApi http = TestApi.alpha(port);
        Fixtures.readyTinyLlama(http, "tiny-llama");
        OpenAIClient openai = client();
        String file = Fixtures.uploadTrainingFile(http);
        FineTuningJob created = openai.fineTuning().jobs().create(JobCreateParams.builder()
                .model("tiny-llama").trainingFile(file).suffix("life").seed(7L)
                .putAdditionalBodyProperty("method", JsonValue.from(Map.of("type", "lora", "lora",
                        Map.of("hyperparameters", Map.of("r", 2, "max_steps", 150, "batch_size", 1,
                                "checkpoint_every", 2)))))
                .build());
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(10)).until(() ->
                openai.fineTuning().jobs().retrieve(created.id()).status().equals(FineTuningJob.Status.RUNNING));

        // OpenAI's SDK knows no "paused" constant: the wire value reads back as the string
        FineTuningJob pausing = openai.fineTuning().jobs().pause(created.id());
        assertThat(pausing.status().asString()).isIn("pausing", "paused");
        await().atMost(Duration.ofSeconds(60)).until(() ->
                openai.fineTuning().jobs().retrieve(created.id()).status().asString().equals("paused"));
        assertThat(openai.fineTuning().jobs().resume(created.id()).status().asString())
                .isIn("queued", "running", "succeeded");
        await().atMost(Duration.ofSeconds(120)).until(() ->
                openai.fineTuning().jobs().retrieve(created.id()).status().equals(FineTuningJob.Status.SUCCEEDED));
        String model = openai.fineTuning().jobs().retrieve(created.id()).fineTunedModel().orElseThrow();

        // a checkpoint's name is a model: completions, and listed with the uploaded adapters
        String checkpoint = openai.fineTuning().jobs().checkpoints().list(created.id()).autoPager().stream()
                .map(FineTuningJobCheckpoint::fineTunedModelCheckpoint).findFirst().orElseThrow();
        Completion completion = openai.completions().create(CompletionCreateParams.builder().model(checkpoint)
                .prompt("Once upon a time").maxTokens(3L).temperature(0.0).build());
        assertThat(completion.model()).isEqualTo(checkpoint);
        assertThat(completion.choices()).hasSize(1);
        String adapterId = http.uploadAdapter("tiny-llama", null, "checkpoint.zip",
                http.get("/v1/fine_tuning/jobs/" + created.id() + "/adapter?step="
                        + checkpoint.substring(checkpoint.lastIndexOf('-') + 1)).bytes()).json().path("id").asString();
        assertThat(openai.models().list().autoPager().stream().map(Model::id))
                .contains("tiny-llama", model, checkpoint, adapterId);

        ModelDeleted deleted = openai.models().delete(model);
        assertThat(deleted.id()).isEqualTo(model);
        assertThat(deleted.deleted()).isTrue();
        assertThatThrownBy(() -> openai.models().retrieve(checkpoint)).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> openai.completions().create(CompletionCreateParams.builder().model(model)
                .prompt("Once").maxTokens(1L).build())).isInstanceOf(NotFoundException.class);
    }
}
