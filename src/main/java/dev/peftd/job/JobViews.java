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

    /**
     * OpenAI's summary of the three classic knobs, as the run applies them: {@code batch_size} is examples per
     * optimizer step (micro-batch times gradient accumulation), {@code learning_rate_multiplier} the learning rate over
     * the method's default, and {@code n_epochs} the passes over the data the run reaches ({@code "auto"} while that
     * waits on the dataset size: a job sized by {@code max_steps} that has not started). The full set is under
     * {@code method.<type>.hyperparameters}.
     */
    record OpenAiHyperparameters(@JsonProperty("batch_size") int batchSize,
                                 @JsonProperty("learning_rate_multiplier") double learningRateMultiplier,
                                 @JsonProperty("n_epochs") Object nEpochs) {

        static OpenAiHyperparameters of(MethodSettings settings, Integer epochsRun) {
            return new OpenAiHyperparameters(settings.training().batchSize() * settings.training().gradAccum(),
                    settings.learningRateMultiplier(), effectiveEpochs(settings, epochsRun));
        }
    }

    /** The epochs the run reaches once known; before, n_epochs as given, or "auto" when max_steps decides. */
    private static Object effectiveEpochs(MethodSettings settings, Integer epochsRun) {
        if (epochsRun != null) {
            return epochsRun;
        }
        return settings.training().steps() > 0 ? AUTO : (Object) (int) settings.training().epochs();
    }

    private static final String AUTO = "auto";

    /**
     * {@code method} as asked: {@code type} is what the request named ({@code supervised} or a peftd method such as
     * {@code lora}, {@code vera}), and the section of that name holds every resolved setting, with {@code n_epochs}
     * the effective one; a {@code supervised} section also carries OpenAI's {@code learning_rate_multiplier}, so
     * OpenAI's SDKs find all three of their supervised hyperparameters there.
     */
    static Map<String, Object> methodAsAsked(TrainingMethod asked, MethodSettings settings, Integer epochsRun) {
        Map<String, Object> hyperparameters = new LinkedHashMap<>(asked.hyperparameters());
        hyperparameters.put(MethodSettings.N_EPOCHS, effectiveEpochs(settings, epochsRun));
        if (asked.shownType().equals(MethodParser.SUPERVISED)) {
            hyperparameters.put(MethodSettings.LEARNING_RATE_MULTIPLIER, settings.learningRateMultiplier());
        }
        Map<String, Object> method = new LinkedHashMap<>();
        method.put("type", asked.shownType());
        method.put(asked.shownType(), Map.of("hyperparameters", hyperparameters));
        return method;
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

        /** @param resultFiles the ids of the job's results CSV files (one once the job has ended after running) */
        static Job of(JobRecord j, List<String> resultFiles) {
            MethodSettings settings = j.method().settings(j.seed());
            return new Job(j.id(), "fine_tuning.job", j.createdAt().getEpochSecond(),
                    j.finishedAt() == null ? null : j.finishedAt().getEpochSecond(), j.model(), j.fineTunedModel(),
                    j.tenant(), j.status().wire(),
                    j.errorCode() == null ? null : new Error(j.errorCode(), j.errorMessage(), j.errorParam()),
                    OpenAiHyperparameters.of(settings, j.epochs()),
                    j.trainingFile(), j.validationFile(), resultFiles, j.trainedTokens(), j.seed(), null, List.of(),
                    methodAsAsked(j.method(), settings, j.epochs()),
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
            if (c.validLoss() != null) {
                metrics.put("valid_loss", c.validLoss());
            }
            return new Checkpoint(c.id(), "fine_tuning.job.checkpoint", c.createdAt().getEpochSecond(),
                    FineTunedModelCatalog.checkpointName(job.fineTunedModelName(), c.stepNumber()), job.id(),
                    c.stepNumber(), metrics);
        }
    }
}
