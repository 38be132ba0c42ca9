package dev.peftd.catalog;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.peftd.api.ApiProblem;
import dev.peftd.api.ListPage;
import dev.peftd.security.Tenant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/**
 * OpenAI's Models API (list, retrieve, delete) plus registration of base models, which OpenAI does not have. The list
 * holds the tenant's base models, fine-tuned models (with their checkpoints) and uploaded adapters: every name its
 * completions accept.
 */
@RestController
class ModelController {

    private final ModelRegistry registry;
    private final FineTunedModels fineTuned;
    private final UploadedAdapters adapters;

    ModelController(ModelRegistry registry, FineTunedModels fineTuned, UploadedAdapters adapters) {
        this.registry = registry;
        this.fineTuned = fineTuned;
        this.adapters = adapters;
    }

    /** @param dtype {@code auto}, {@code bfloat16}, {@code float16} or {@code float32}; absent: auto */
    record RegisterModel(String id, String source, String dtype) {
    }

    /**
     * OpenAI's model object, with our registration fields for base models, the parent for fine-tuned ones and
     * adapters, the step for a checkpoint and the name an adapter was uploaded with.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ModelView(String id, String object, long created, @JsonProperty("owned_by") String ownedBy, String status,
                     String source, String dtype, @JsonProperty("failure_reason") String failureReason, ModelFailure error,
                     String architecture, Long parameters, String parent,
                     @JsonProperty("fine_tuning_job") String fineTuningJob,
                     @JsonProperty("checkpoint_step") Integer checkpointStep, String name) {

        static ModelView of(BaseModel m) {
            return new ModelView(m.id(), "model", m.createdAt().getEpochSecond(), m.tenant(), m.status().name(),
                    m.source(), m.dtype().externalName(), m.failureReason(), m.failure(), m.architecture(), m.parameters(),
                    null, null, null, null);
        }

        static ModelView of(String tenant, FineTunedModels.FineTunedModel m) {
            return new ModelView(m.id(), "model", m.createdAt(), tenant, "ready", null, null, null, null, null, null,
                    m.base(), m.jobId(), m.checkpointStep(), null);
        }

        static ModelView of(String tenant, UploadedAdapters.UploadedAdapter a) {
            return new ModelView(a.id(), "model", a.createdAt(), tenant, "ready", null, null, null, null, null, null,
                    a.base(), null, null, a.name());
        }
    }

    /** OpenAI's answer to a model deletion. */
    record Deleted(String id, String object, boolean deleted) {
    }

    @PostMapping("/v1/models")
    ModelView register(@AuthenticationPrincipal Tenant tenant, @RequestBody RegisterModel body,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        return ModelView.of(registry.register(tenant, body.id(), body.source(), body.dtype(), idempotencyKey));
    }

    @GetMapping("/v1/models")
    ListPage<ModelView> list(@AuthenticationPrincipal Tenant tenant) {
        List<ModelView> models = new ArrayList<>();
        registry.list(tenant).forEach(m -> models.add(ModelView.of(m)));
        fineTuned.fineTunedModels(tenant.name()).forEach(m -> models.add(ModelView.of(tenant.name(), m)));
        adapters.uploadedAdapters(tenant.name()).forEach(a -> models.add(ModelView.of(tenant.name(), a)));
        return ListPage.of(models, false);
    }

    /**
     * Deletes a fine-tuned model ({@code ft:…}, a checkpoint's too) with its files, or a failed base-model
     * registration (see {@link ModelRegistry#deleteFailed}).
     */
    @DeleteMapping("/v1/models/{id}")
    Deleted delete(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        if (id.startsWith("ft:")) {
            fineTuned.delete(tenant.name(), id);
        } else {
            registry.deleteFailed(tenant, id);
        }
        return new Deleted(id, "model", true);
    }

    @GetMapping("/v1/models/{id}")
    ModelView get(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        if (id.startsWith("ft:")) {
            return fineTuned.fineTunedModel(tenant.name(), id).map(m -> ModelView.of(tenant.name(), m))
                    .orElseThrow(() -> ApiProblem.notFound("model", id));
        }
        return registry.find(tenant.name(), id).map(ModelView::of)
                .or(() -> adapters.uploadedAdapters(tenant.name()).stream()
                        .filter(a -> a.id().equals(id) || id.equals(a.name())).findFirst()
                        .map(a -> ModelView.of(tenant.name(), a)))
                .orElseThrow(() -> ApiProblem.notFound("model", id));
    }
}
