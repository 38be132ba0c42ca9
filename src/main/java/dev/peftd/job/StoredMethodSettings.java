package dev.peftd.job;

import dev.peftd.training.MethodSettings;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/** The job's stored {@link TrainingMethod} JSON, read back for a run into the core's configurations. */
@Component
class StoredMethodSettings implements MethodSettings {

    private final JsonMapper json;

    StoredMethodSettings(JsonMapper json) {
        this.json = json;
    }

    @Override
    public RunSettings read(String storedMethod, long seed) {
        TrainingMethod method = json.readValue(storedMethod, TrainingMethod.class);
        var training = CoreConfigs.training(method, seed);   // first, as its checks report before the adapter's
        return new RunSettings(method.type(), CoreConfigs.adapter(method), training, CoreConfigs.maxSeqLength(method),
                method.settings(seed).dtype());
    }
}
