package dev.peftd.training;

import ai.djl.Device;
import dev.peftd.catalog.BaseModel;
import dev.peftd.catalog.Files;
import dev.peftd.catalog.ModelRegistry;
import dev.peftd.catalog.StoredFile;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.peft.AdapterExport;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.TrainingConfig;
import dev.peftd.core.train.TrainingData;
import dev.peftd.core.train.TrainingResult;
import dev.peftd.core.train.TrainingRun;
import dev.peftd.core.train.data.DatasetException;
import dev.peftd.core.train.data.JsonlDataset;
import dev.peftd.core.train.data.TokenizedExample;
import dev.peftd.job.CoreConfigs;
import dev.peftd.job.JobEvents;
import dev.peftd.job.JobRecord;
import dev.peftd.job.Jobs;
import dev.peftd.ops.DataDirectory;
import dev.peftd.queue.Claim;
import dev.peftd.security.Tenant;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import dev.peftd.worker.JobHandler;
import dev.peftd.worker.RunControl;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.util.FileSystemUtils;

/**
 * Runs a claimed job with the training core: fetches the base model folder, the dataset and (on a re-run) the last
 * checkpoint into a private work folder, trains, uploads each checkpoint to the store as it is written, and exports
 * the adapter (PEFT directory + peftd.json) to the store when the run completes. Progress, metrics and checkpoints are
 * written through {@link TrainingProgress}, fenced on the job's lease.
 */
@Component
class TrainingJobHandler implements JobHandler {

    private static final Logger log = LoggerFactory.getLogger(TrainingJobHandler.class);

    private final Jobs jobs;
    private final ModelRegistry models;
    private final Files files;
    private final ArtifactStore store;
    private final JobEvents events;
    private final TrainingProgress.Factory progress;
    private final Path workRoot;

    TrainingJobHandler(Jobs jobs, ModelRegistry models, Files files, ArtifactStore store, JobEvents events,
            TrainingProgress.Factory progress, DataDirectory dataDirectory) {
        this.jobs = jobs;
        this.models = models;
        this.files = files;
        this.store = store;
        this.events = events;
        this.progress = progress;
        this.workRoot = dataDirectory.resolve("work");
        removeStaleWorkFolders(workRoot);
    }

    /**
     * Work folders hold copies of tenants' training data; a run removes its own when it ends, but a process that was
     * killed mid-run leaves its folder behind. At start-up no run of this process exists yet and the data folder's
     * lock keeps other processes out, so everything here is stale.
     */
    static void removeStaleWorkFolders(Path workRoot) {
        try (Stream<Path> stale = java.nio.file.Files.list(workRoot)) {
            for (Path folder : stale.toList()) {
                FileSystemUtils.deleteRecursively(folder);
                log.info("removed the stale work folder {}", folder.getFileName());
            }
        } catch (IOException e) {
            log.warn("could not clear stale work folders: {}", e.getMessage());
        }
    }

    @Override
    public Outcome run(Claim claim, RunControl control) {
        JobRecord job = jobs.findClaimed(claim.jobId()).orElseThrow();
        Path work = workRoot.resolve(job.id() + "-" + claim.token().toString().substring(0, 8));
        try {
            java.nio.file.Files.createDirectories(work);
            return train(claim, job, control, work);
        } catch (DatasetException e) {
            return new Outcome.Failed("invalid_training_file", e.getMessage().replace(work.toString() + "/", ""));
        } catch (AdapterConfigException e) {
            return new Outcome.Failed("invalid_hyperparameters", e.getMessage());
        } catch (IOException | UncheckedIOException e) {
            log.warn("job {}: I/O failure", job.id(), e);
            return new Outcome.Failed("io_error", e.getMessage());
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.warn("job {}: training refused", job.id(), e);
            return new Outcome.Failed("training_error", e.getMessage());
        } finally {
            FileSystemUtils.deleteRecursively(work.toFile());
        }
    }

    private Outcome train(Claim claim, JobRecord job, RunControl control, Path work) throws IOException {
        Tenant tenant = new Tenant(job.tenant());
        Optional<BaseModel> base = models.find(job.tenant(), job.model())
                .filter(m -> m.status() == BaseModel.Status.ready);
        if (base.isEmpty()) {
            return new Outcome.Failed("model_unavailable", "base model '" + job.model() + "' is not registered and ready");
        }
        Path modelDir = Path.of(base.get().localPath());
        Path trainFile = fetch(tenant, job.trainingFile(), work.resolve("train.jsonl"));
        Path validationFile = job.validationFile() == null ? null
                : fetch(tenant, job.validationFile(), work.resolve("validation.jsonl"));
        Path checkpoints = java.nio.file.Files.createDirectories(work.resolve("checkpoints"));
        Path resumeFrom = claim.checkpointStep() == null ? null : fetchCheckpoint(job, claim.checkpointStep(), checkpoints);

        TrainingConfig config = CoreConfigs.training(job.method(), job.seed());
        AdapterConfig adapterConfig = CoreConfigs.adapter(job.method());
        int maxSeqLength = CoreConfigs.maxSeqLength(job.method());
        try (Tokenizer tokenizer = Tokenizer.load(modelDir);
             CausalLm model = ModelLoader.load(modelDir, device(control.device()))) {
            int maxLen = Math.min(maxSeqLength, model.config().maxPositionEmbeddings());
            TrainingData data = data(tokenizer, trainFile, validationFile, maxLen);
            int totalSteps = config.totalStepsFor(data.train().size());
            adapterConfig = adapterConfig.forRunOf(totalSteps);
            try (AbstractAdapter adapter = Adapters.create(adapterConfig, model.linears(), job.seed());
                 TrainingProgress listener = progress.create(claim, job, control, checkpoints)) {
                TrainingRun run = new TrainingRun(model, adapter, data, config, listener, checkpoints);
                listener.attach(run);
                if (resumeFrom != null) {
                    run.resumeFrom(resumeFrom);
                }
                events.message(job.id(), JobEvents.Level.info, String.format(java.util.Locale.ROOT,
                        "Training %s on %s: %d examples, %d steps, %d trainable parameters%s", job.method().type(),
                        job.model(), data.train().size(), run.totalSteps(), adapter.trainableParameterCount(),
                        resumeFrom == null ? "" : ", resuming at step " + claim.checkpointStep()));
                TrainingResult result = run.run();
                if (control.stop() == RunControl.Stop.LEASE_LOST) {
                    return new Outcome.Stopped(RunControl.Stop.LEASE_LOST);   // someone else owns the job now
                }
                if (result.cancelled()) {
                    return new Outcome.Stopped(control.stop() == RunControl.Stop.NONE ? RunControl.Stop.CANCEL
                            : control.stop());
                }
                Path adapterDir = work.resolve("adapter");
                AdapterExport.write(adapter, job.model(), modelDir, model.config(), adapterDir, metrics(job, result),
                        false);
                String prefix = ObjectKeys.adapter(job.tenant(), job.id());
                store.putDirectory(prefix, adapterDir);
                return new Outcome.Succeeded(job.fineTunedModelName(), prefix, listener.trainedTokens(), result.steps());
            }
        }
    }

    private static TrainingData data(Tokenizer tokenizer, Path trainFile, Path validationFile, int maxLen) {
        List<TokenizedExample> train = JsonlDataset.read(trainFile, tokenizer, maxLen).examples();
        List<TokenizedExample> eval = validationFile == null ? List.of()
                : JsonlDataset.read(validationFile, tokenizer, maxLen).examples();
        // padding is never a loss target nor attended to; EOS (or 0) is what HF's collators use
        int pad = (int) tokenizer.eosTokenId().orElse(0);
        return new TrainingData(train, eval, pad);
    }

    private Path fetch(Tenant tenant, String fileId, Path target) throws IOException {
        StoredFile file = files.find(tenant, fileId)
                .orElseThrow(() -> new DatasetException("file '" + fileId + "' was deleted"));
        try (InputStream in = files.open(file)) {
            java.nio.file.Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    /** Downloads checkpoint {@code step} into {@code checkpoints/step-NNNNNN}, the layout the core resumes from. */
    private Path fetchCheckpoint(JobRecord job, int step, Path checkpoints) throws IOException {
        Path dir = checkpoints.resolve(String.format("step-%06d", step));
        store.getDirectory(ObjectKeys.checkpoint(job.tenant(), job.id(), step), dir);
        return dir;
    }

    private static Device device(String device) {
        return device.startsWith("gpu:") ? Device.gpu(Integer.parseInt(device.substring(4))) : Device.cpu();
    }

    private static Map<String, Object> metrics(JobRecord job, TrainingResult result) {
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("job", job.id());
        metrics.put("steps", result.steps());
        metrics.put("first_loss", result.firstLoss());
        metrics.put("final_loss", result.finalLoss());
        metrics.put("eval_loss_before", result.evalBefore());
        metrics.put("eval_loss_after", result.evalAfter());
        metrics.put("training_file", job.trainingFile());
        return metrics;
    }
}
