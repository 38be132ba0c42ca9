package dev.peftd.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Every adapter and training knob of a job, resolved (defaults filled in), in the API's snake_case names.
 * Method-specific fields are {@code null} for the other methods and then left out of the JSON.
 *
 * @param targetModules a list of module names or suffixes, or one string: {@code "all-linear"} or a regular
 *                      expression that must match the whole module name (PEFT's semantics)
 * @param maxSteps      when set, the run stops after this many optimizer steps regardless of {@code n_epochs}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Hyperparameters(
        int r,
        @JsonProperty("lora_alpha") Double loraAlpha,
        @JsonProperty("lora_dropout") double loraDropout,
        @JsonProperty("target_modules") Object targetModules,
        @JsonProperty("use_rslora") Boolean useRslora,
        @JsonProperty("lora_fa_project_grad") Boolean loraFaProjectGrad,
        @JsonProperty("vera_d_initial") Double veraDInitial,
        @JsonProperty("projection_prng_key") Long projectionPrngKey,
        @JsonProperty("delta_lambda") Double deltaLambda,
        @JsonProperty("delta_start_step") Integer deltaStartStep,
        @JsonProperty("loraplus_lr_ratio") Double loraplusLrRatio,
        @JsonProperty("n_epochs") int nEpochs,
        @JsonProperty("max_steps") Integer maxSteps,
        @JsonProperty("batch_size") int batchSize,
        @JsonProperty("learning_rate") double learningRate,
        @JsonProperty("lr_scheduler") String lrScheduler,
        @JsonProperty("warmup_steps") int warmupSteps,
        @JsonProperty("weight_decay") double weightDecay,
        @JsonProperty("max_grad_norm") double maxGradNorm,
        @JsonProperty("gradient_accumulation_steps") int gradientAccumulationSteps,
        @JsonProperty("max_seq_length") int maxSeqLength,
        @JsonProperty("checkpoint_every") int checkpointEvery) {
}
