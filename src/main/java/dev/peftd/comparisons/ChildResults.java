package dev.peftd.comparisons;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.comparison.MethodRun;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.peft.PeftdSidecar;
import dev.peftd.job.JobRecord;
import dev.peftd.kernel.Refusal;
import dev.peftd.storage.ArtifactStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * A succeeded child's result as the comparison engine takes it ({@link MethodRun}), read from what the job recorded:
 * the metrics and analysis in its exported adapter's {@code peftd.json} and the size of its weights file. Peak memory
 * is not recorded per job (a worker process runs several at once), so it is NaN here. A succeeded job's adapter never
 * changes, so each is read once and kept (the most recent {@value #REMEMBERED}): a table is read on every poll.
 */
@Component
class ChildResults {

    static final String WEIGHTS = "adapter_model.safetensors";
    static final int REMEMBERED = 1000;
    private static final Logger log = LoggerFactory.getLogger(ChildResults.class);

    private final ArtifactStore store;
    private final Map<String, MethodRun> read = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, MethodRun> eldest) {
                    return size() > REMEMBERED;
                }
            });

    ChildResults(ArtifactStore store) {
        this.store = store;
    }

    MethodRun of(JobRecord job) {
        MethodRun known = read.get(job.id());
        if (known != null) {
            return known;
        }
        MethodRun run = readFromStore(job);
        read.put(job.id(), run);
        return run;
    }

    private MethodRun readFromStore(JobRecord job) {
        try {
            JsonObject sidecar;
            try (InputStream in = store.open(job.adapterKey() + PeftdSidecar.FILE)) {
                sidecar = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                        .getAsJsonObject();
            }
            long weightBytes;
            try (InputStream in = store.open(job.adapterKey() + WEIGHTS)) {
                weightBytes = in.transferTo(OutputStream.nullOutputStream());
            }
            JsonObject metrics = sidecar.getAsJsonObject("metrics");
            List<MethodRun.CurvePoint> curve = new ArrayList<>();
            if (metrics.has("eval_loss_curve")) {
                for (JsonElement point : metrics.getAsJsonArray("eval_loss_curve")) {
                    JsonObject p = point.getAsJsonObject();
                    curve.add(new MethodRun.CurvePoint(p.get("step").getAsInt(), p.get("eval_loss").getAsDouble()));
                }
            }
            return new MethodRun(job.method().type(), job.seed(), "/v1/fine_tuning/jobs/" + job.id() + "/adapter",
                    number(metrics, "eval_loss_before"), number(metrics, "eval_loss_after"), curve,
                    number(metrics, "step_seconds"), Double.NaN, weightBytes, job.method().hyperparameters(),
                    AdapterAnalysis.fromJson(sidecar.getAsJsonObject("analysis")));
        } catch (IOException | RuntimeException e) {
            // the store's message may name its location; the client learns which job's results are unreadable
            log.warn("comparison child {}: cannot read its exported adapter", job.id(), e);
            throw new Refusal(Refusal.Kind.STORAGE_UNAVAILABLE, "the results of job '" + job.id()
                    + "' cannot be read from the object store (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** A recorded number, NaN where the run did not measure it (no validation data, or a resumed run). */
    private static double number(JsonObject metrics, String name) {
        JsonElement value = metrics.get(name);
        return value == null || value.isJsonNull() ? Double.NaN : value.getAsDouble();
    }
}
