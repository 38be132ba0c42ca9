package dev.peftd.serving;

import dev.peftd.kernel.Refusal;
import dev.peftd.catalog.BaseModel;
import dev.peftd.catalog.FineTunedModels;
import dev.peftd.catalog.ModelRegistry;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.storage.ObjectKeys;
import java.nio.file.Path;
import org.springframework.stereotype.Component;

/**
 * Resolves a request's {@code model} for a tenant: a fine-tuned model ({@code ft:…}, its job's adapter, or a
 * checkpoint's {@code ft:…:ckpt-step-N}), an
 * uploaded adapter (id or name), or a registered base model (a merged adapter counts as merged serving). Only the
 * tenant's own models resolve; anything else is a 404 naming the model.
 */
@Component
class ServedModels {

    private final ModelRegistry registry;
    private final FineTunedModels fineTuned;
    private final ServedAdapters adapters;
    private final AdapterDownloads downloads;
    private final Path mergedRoot;

    ServedModels(ModelRegistry registry, FineTunedModels fineTuned, ServedAdapters adapters, AdapterDownloads downloads,
            dev.peftd.kernel.DataDirectory data) {
        this.registry = registry;
        this.fineTuned = fineTuned;
        this.adapters = adapters;
        this.downloads = downloads;
        this.mergedRoot = data.resolve("serving").resolve("merged");
    }

    /** Where merges write their checkpoints; a base model whose files lie below it is served as "merged". */
    Path mergedRoot() {
        return mergedRoot;
    }

    /**
     * The name a fine-tuned model's merge is stored under: its job id, with the step for a checkpoint (404 when the
     * tenant has no such model).
     */
    String fineTunedStoreName(String tenant, String model) {
        FineTunedModels.FineTunedModel ft = fineTuned.fineTunedModel(tenant, model)
                .orElseThrow(() -> Refusal.notFound("model", model));
        return ft.jobId() + (ft.checkpointStep() == null ? "" : "-step-" + ft.checkpointStep());
    }

    ServedModel resolve(String tenant, String model) {
        if (model == null || model.isBlank()) {
            throw Refusal.invalidField("model", "is required");
        }
        if (model.startsWith("ft:")) {
            FineTunedModels.FineTunedModel ft = fineTuned.fineTunedModel(tenant, model)
                    .orElseThrow(() -> Refusal.notFound("model", model));
            return ServedModel.adapter(model, baseDir(tenant, ft.base()), dtype(tenant, ft.base()), ft.adapterKey(),
                    downloads.files(ft.adapterKey(), FineTunedModelServing.localName(tenant, ft)));
        }
        var adapter = adapters.find(tenant, model);
        if (adapter.isPresent()) {
            ServedAdapter a = adapter.get();
            String prefix = ObjectKeys.servedAdapter(tenant, a.id());
            return ServedModel.adapter(model, baseDir(tenant, a.baseModel()), dtype(tenant, a.baseModel()), prefix,
                    downloads.files(prefix, tenant + "/" + a.id()));
        }
        Path dir = baseDir(tenant, model);
        ModelDtype dtype = dtype(tenant, model);
        return dir.toAbsolutePath().normalize().startsWith(mergedRoot) ? ServedModel.merged(model, dir, dtype)
                : ServedModel.base(model, dir, dtype);
    }

    /** The type a ready base model is served in (its registration's); call after {@link #baseDir}. */
    ModelDtype dtype(String tenant, String id) {
        return registry.find(tenant, id).map(BaseModel::dtype).orElseThrow(() -> Refusal.notFound("model", id));
    }

    /** The local folder of a ready base model; 404 when unknown, 409 while it is still loading or failed. */
    Path baseDir(String tenant, String id) {
        BaseModel base = registry.find(tenant, id).orElseThrow(() -> Refusal.notFound("model", id));
        if (base.status() != BaseModel.Status.ready) {
            throw new Refusal(Refusal.Kind.CONFLICT, "model '" + id + "' is " + base.status()
                    + (base.failureReason() == null ? "" : ": " + base.failureReason()),
                    java.util.List.of(new Refusal.FieldError("model", "not ready")));
        }
        return Path.of(base.localPath());
    }
}
