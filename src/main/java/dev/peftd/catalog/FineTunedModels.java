package dev.peftd.catalog;

import java.util.List;
import java.util.Optional;

/** The fine-tuned models a tenant owns; the job feature provides them (a succeeded job is a model). */
public interface FineTunedModels {

    record FineTunedModel(String id, String base, String jobId, long createdAt) {
    }

    List<FineTunedModel> fineTunedModels(String tenant);

    Optional<FineTunedModel> fineTunedModel(String tenant, String id);
}
