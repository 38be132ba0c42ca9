package dev.peftd.job;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonRawValue;
import dev.peftd.core.train.MethodSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON shapes of OpenAI's fine-tuning API, with our extensions added as extra fields. */
final class JobViews {

    private JobViews() {
    }

    record Error(String code, String message, String param) {
    }

    /** OpenAI's summary of the three classic knobs; the full set is under {@code method.<type>.hyperparameters}. */
    record OpenAiHyperparameters(@JsonProperty("batch_size") int batchSize,
                                 @JsonProperty("learning_rate_multiplier") double learningRateMultiplier,
                                 @JsonProperty("n_epochs") int nEpochs) {
    }

    record Job(String id, String object, @JsonProperty("created_at") long createdAt,
               @JsonProperty("finished_at") Long finishedAt, String model,
               @JsonProperty("fine_tuned_model") String fineTunedModel,
               @JsonProperty("organization_id") String organizationId, String status, Error error,
               OpenAiHyperparameters hyperparameters, @JsonProperty("training_file") String trainingFile,
               @JsonProperty("validation_file") String validationFile,
               @JsonProperty("result_files") List<String> resultFiles,
               @JsonProperty("trained_tokens") Long trainedTokens, long seed,
               @JsonProperty("estimated_finish") Long estimatedFinish, List<Object> integrations,
               Map<String, Object> method, @JsonRawValue Object metadata, String suffix,
               @JsonProperty("steps_completed") int stepsCompleted, @JsonProperty("total_steps") Integer totalSteps,
               int attempts) {

        static Job of(JobRecord j) {
            MethodSettings settings = j.method().settings(j.seed());
            Map<String, Object> method = new LinkedHashMap<>();
            method.put("type", j.method().type());
            method.put(j.method().type(), Map.of("hyperparameters", j.method().hyperparameters()));
            return new Job(j.id(), "fine_tuning.job", j.createdAt().getEpochSecond(),
                    j.finishedAt() == null ? null : j.finishedAt().getEpochSecond(), j.model(), j.fineTunedModel(),
                    j.tenant(), j.status().wire(),
                    j.errorCode() == null ? null : new Error(j.errorCode(), j.errorMessage(), j.errorParam()),
                    new OpenAiHyperparameters(settings.training().batchSize(), settings.learningRateMultiplier(),
                            (int) settings.training().epochs()),
                    j.trainingFile(), j.validationFile(), List.of(), j.trainedTokens(), j.seed(), null, List.of(), method,
                    j.metadataJson(), j.suffix(), j.stepsCompleted(), j.totalSteps(), j.attempts());
        }
    }

    record Event(String id, String object, @JsonProperty("created_at") long createdAt, String level, String message,
                 String type, @JsonRawValue Object data) {

        static Event of(JobEvents.Event e) {
            return new Event(e.id(), "fine_tuning.job.event", e.createdAt(), e.level().name(), e.message(), e.type(),
                    e.data());
        }
    }

    record Checkpoint(String id, String object, @JsonProperty("created_at") long createdAt,
                      @JsonProperty("fine_tuned_model_checkpoint") String fineTunedModelCheckpoint,
                      @JsonProperty("fine_tuning_job_id") String fineTuningJobId,
                      @JsonProperty("step_number") int stepNumber, Map<String, Object> metrics) {

        static Checkpoint of(JobRecord job, JobCheckpoints.Checkpoint c) {
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("step", c.stepNumber());
            if (c.trainLoss() != null) {
                metrics.put("train_loss", c.trainLoss());
            }
            return new Checkpoint(c.id(), "fine_tuning.job.checkpoint", c.createdAt().getEpochSecond(),
                    FineTunedModelCatalog.checkpointName(job.fineTunedModelName(), c.stepNumber()), job.id(),
                    c.stepNumber(), metrics);
        }
    }
}
