package dev.peftd.catalog;

import java.util.List;
import java.util.Optional;

/**
 * The fine-tuned models a tenant owns; the job feature provides them: a succeeded job's adapter is a model
 * ({@code ft:<base>:<suffix>:<job>}), and so is each checkpoint a job lists ({@code …:ckpt-step-N}).
 */
public interface FineTunedModels {

    /**
     * @param adapterKey     the store prefix of the model's PEFT directory
     * @param checkpointStep the step of a checkpoint model, {@code null} for a job's final model
     */
    record FineTunedModel(String id, String base, String jobId, long createdAt, String adapterKey,
                          Integer checkpointStep) {
    }

    List<FineTunedModel> fineTunedModels(String tenant);

    Optional<FineTunedModel> fineTunedModel(String tenant, String id);

    /**
     * Deletes the model and its files (a final model takes its job's checkpoints with it); the job stays.
     *
     * @throws dev.peftd.kernel.Refusal not found (also for another tenant's model), or a conflict while a job may
     *                                  still need it or a request is using it
     */
    void delete(String tenant, String id);
}
