package dev.peftd.serving;

import dev.peftd.catalog.FineTunedModels.FineTunedModel;
import java.io.IOException;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * How serving holds a fine-tuned model (a job's final adapter or one of its checkpoints): under its store prefix in
 * the adapter cache, and as a node-local copy of its PEFT directory. The job feature deletes models through here, so
 * that a model in use is refused and a deleted one is never served again from what this node still holds.
 */
@Component
public class FineTunedModelServing {

    private final ServingEngine engine;
    private final AdapterDownloads downloads;

    FineTunedModelServing(ServingEngine engine, AdapterDownloads downloads) {
        this.engine = engine;
        this.downloads = downloads;
    }

    /** The node-local folder of a fine-tuned model's adapter files, unique to its content. */
    static String localName(String tenant, FineTunedModel model) {
        return tenant + "/job-" + model.jobId()
                + (model.checkpointStep() == null ? "" : "-step-" + model.checkpointStep());
    }

    /**
     * Stops serving {@code models} on this node, all or none, and drops their local files.
     *
     * @param name the model the client asked to delete, for the refusal
     * @throws dev.peftd.kernel.Refusal a conflict while a request holds one of them
     */
    public void retire(String tenant, String name, List<FineTunedModel> models) throws IOException {
        engine.adapters().delete(models.stream().map(FineTunedModel::adapterKey).toList(), name);
        for (FineTunedModel model : models) {
            downloads.forget(localName(tenant, model));
        }
    }
}
