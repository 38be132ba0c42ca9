package dev.peftd.training;

import ai.djl.Device;
import dev.peftd.catalog.BaseModel;
import dev.peftd.catalog.Files;
import dev.peftd.catalog.ModelRegistry;
import dev.peftd.catalog.StoredFile;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.peft.AdapterExport;
import dev.peftd.core.adapter.peft.ExportOptions;
import dev.peftd.core.adapter.peft.PeftExporter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.TrainingConfig;
import dev.peftd.core.train.TrainingData;
import dev.peftd.core.train.TrainingResult;
import dev.peftd.core.train.TrainingRun;
import dev.peftd.core.train.data.DatasetException;
import dev.peftd.core.train.data.JsonlDataset;
import dev.peftd.core.train.data.TokenizedExample;
import dev.peftd.kernel.DataDirectory;
import dev.peftd.queue.Claim;
import dev.peftd.queue.JobSpec;
import dev.peftd.security.Tenant;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import dev.peftd.worker.JobHandler;
import dev.peftd.worker.JobJournal;
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
 * written through {@link TrainingProgress}, fenced on the job's lease. Everything it knows of the job comes with the
 * {@link Claim}; the job's stored method settings are read back by the job feature ({@link MethodSettings}).
 */
@Component
class TrainingJobHandler implements JobHandler {

    private static final Logger log = LoggerFactory.getLogger(TrainingJobHandler.class);

    private final MethodSettings methods;
    private final ModelRegistry models;
    private final Files files;
    private final ArtifactStore store;
    private final JobJournal journal;
    private final TrainingProgress.Factory progress;
    private final Path workRoot;

    TrainingJobHandler(MethodSettings methods, ModelRegistry models, Files files, ArtifactStore store,
            JobJournal journal, TrainingProgress.Factory progress, DataDirectory dataDirectory) {
        this.methods = methods;
        this.models = models;
        this.files = files;
        this.store = store;
        this.journal = journal;
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
        Outcome outcome = runInWorkFolder(claim, control);
        if (endsTheJob(outcome)) {
            storeResults(claim);
        }
        return outcome;
    }

    /** Succeeded, failed or cancelled; a shutdown or a lost lease leaves the job to run on. */
    private static boolean endsTheJob(Outcome outcome) {
        return !(outcome instanceof Outcome.Stopped stopped) || stopped.reason() == RunControl.Stop.CANCEL;
    }

    /**
     * The job's results CSV from its metrics events, stored as a file of its tenant before the worker writes the
     * job's end, so a client that sees the job ended finds it in {@code result_files}. A store failure costs the file,
     * not the job's outcome.
     */
    private void storeResults(Claim claim) {
        ResultsCsv csv = ResultsCsv.of(journal.recordedMetrics(claim.jobId()));
        Path file = null;
        try {
            file = java.nio.file.Files.createTempFile(workRoot, claim.jobId() + "-", ".csv");
            java.nio.file.Files.writeString(file, csv.text(), java.nio.charset.StandardCharsets.UTF_8);
            files.storeResults(claim.tenant(), claim.jobId(), file, csv.rows());
        } catch (IOException | RuntimeException e) {
            log.warn("job {}: could not store the results file", claim.jobId(), e);
            journal.message(claim.jobId(), JobJournal.Level.warn, "The results file could not be stored ("
                    + e.getClass().getSimpleName() + ")");
        } finally {
            if (file != null) {
                FileSystemUtils.deleteRecursively(file.toFile());
            }
        }
    }

    private Outcome runInWorkFolder(Claim claim, RunControl control) {
        Path work = workRoot.resolve(claim.jobId() + "-" + claim.token().toString().substring(0, 8));
        try {
            java.nio.file.Files.createDirectories(work);
            return train(claim, control, work);
        } catch (DatasetException e) {
            return new Outcome.Failed("invalid_training_file", e.getMessage().replace(work.toString() + "/", ""));
        } catch (InvalidSettingException e) {   // AdapterConfigException too; dtype refused on the loaded base
            return new Outcome.Failed("invalid_hyperparameters", e.getMessage());
        } catch (IOException | UncheckedIOException e) {
            log.warn("job {}: I/O failure", claim.jobId(), e);
            return new Outcome.Failed("io_error", e.getMessage());
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.warn("job {}: training refused", claim.jobId(), e);
            return new Outcome.Failed("training_error", e.getMessage());
        } finally {
            FileSystemUtils.deleteRecursively(work.toFile());
        }
    }

    private Outcome train(Claim claim, RunControl control, Path work) throws IOException {
        JobSpec job = claim.spec();
        Tenant tenant = new Tenant(claim.tenant());
        Optional<BaseModel> base = models.find(claim.tenant(), job.model())
                .filter(m -> m.status() == BaseModel.Status.ready);
        if (base.isEmpty()) {
            return new Outcome.Failed("model_unavailable", "base model '" + job.model() + "' is not registered and ready");
        }
        Path modelDir = Path.of(base.get().localPath());
        Path trainFile = fetch(tenant, job.trainingFile(), work.resolve("train.jsonl"));
        Path validationFile = job.validationFile().isEmpty() ? null
                : fetch(tenant, job.validationFile().get(), work.resolve("validation.jsonl"));
        Path checkpoints = java.nio.file.Files.createDirectories(work.resolve("checkpoints"));
        Path resumeFrom = claim.checkpointStep() == null ? null
                : fetchCheckpoint(claim, claim.checkpointStep(), checkpoints);

        MethodSettings.RunSettings settings = methods.read(job.method(), job.seed());
        TrainingConfig config = settings.training();
        AdapterConfig adapterConfig = settings.adapter();
        try (Tokenizer tokenizer = Tokenizer.load(modelDir);
             CausalLm model = ModelLoader.load(modelDir, device(control.device()), settings.dtype())) {
            int maxLen = Math.min(settings.maxSeqLength(), model.config().maxPositionEmbeddings());
            TrainingData data = data(tokenizer, job, trainFile, validationFile, maxLen);
            int totalSteps = config.totalStepsFor(data.train().size());
            adapterConfig = adapterConfig.forRunOf(totalSteps);
            try (AbstractAdapter adapter = Adapters.create(adapterConfig, model.linears(), job.seed());
                 TrainingProgress listener = progress.create(claim, settings.method(), control, checkpoints,
                         peftDir -> PeftExporter.export(adapter, peftDir, ExportOptions.forModel(job.model(),
                                 model.config())))) {
                TrainingRun run = new TrainingRun(model, adapter, data, config, listener, checkpoints);
                listener.attach(run);
                if (resumeFrom != null) {
                    run.resumeFrom(resumeFrom);
                }
                journal.message(claim.jobId(), JobJournal.Level.info, String.format(java.util.Locale.ROOT,
                        "Training %s on %s (%s): %d examples, %d steps (%d epochs), %d trainable parameters%s",
                        settings.method(), job.model(), ModelDtype.of(model.halfType()), data.train().size(),
                        run.totalSteps(), run.epochs(), adapter.trainableParameterCount(),
                        resumeFrom == null ? "" : ", resuming at step " + claim.checkpointStep()));
                TrainingResult result = run.run();
                if (control.stop() == RunControl.Stop.LEASE_LOST) {
                    return new Outcome.Stopped(RunControl.Stop.LEASE_LOST);   // someone else owns the job now
                }
                if (result.cancelled()) {
                    return new Outcome.Stopped(control.stop() == RunControl.Stop.NONE ? RunControl.Stop.CANCEL
                            : control.stop());
                }
                reportBest(claim, config, result);
                Path adapterDir = work.resolve("adapter");
                AdapterExport.write(adapter, job.model(), modelDir, model.config(), adapterDir,
                        metrics(claim, result, listener), false);
                String prefix = ObjectKeys.adapter(claim.tenant(), claim.jobId());
                store.putDirectory(prefix, adapterDir);
                return new Outcome.Succeeded(job.fineTunedModelName(claim.jobId()), prefix, listener.trainedTokens(),
                        result.steps());
            }
        }
    }

    /** Tells the job's owner that early stopping ended the run and which evaluation's adapter is the model. */
    private void reportBest(Claim claim, TrainingConfig config, TrainingResult result) {
        if (result.best() == null) {
            return;
        }
        if (result.earlyStopped()) {
            journal.message(claim.jobId(), JobJournal.Level.info, String.format(java.util.Locale.ROOT,
                    "Early stopping at step %d of %d: the validation loss has not improved for %d evaluations"
                            + " (best %.4f at step %d)", result.steps(), result.totalSteps(),
                    config.earlyStoppingPatience(), result.best().loss(), result.bestStep()));
        }
        if (config.keepBest()) {
            journal.message(claim.jobId(), JobJournal.Level.info, String.format(java.util.Locale.ROOT,
                    "keep_best: the fine-tuned model is the adapter of step %d (validation loss %.4f)",
                    result.bestStep(), result.best().loss()));
        }
    }

    /** Refusals name the user's file ids ("training_file file-abc line 3: …"), not the work folder's copies. */
    private static TrainingData data(Tokenizer tokenizer, JobSpec job, Path trainFile, Path validationFile, int maxLen) {
        List<TokenizedExample> train = JsonlDataset.read(trainFile, "training_file " + job.trainingFile(), tokenizer,
                maxLen).examples();
        List<TokenizedExample> eval = validationFile == null ? List.of()
                : JsonlDataset.read(validationFile, "validation_file " + job.validationFile().get(), tokenizer, maxLen)
                        .examples();
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
    private Path fetchCheckpoint(Claim claim, int step, Path checkpoints) throws IOException {
        Path dir = checkpoints.resolve(String.format("step-%06d", step));
        store.getDirectory(ObjectKeys.checkpoint(claim.tenant(), claim.jobId(), step), dir);
        return dir;
    }

    private static Device device(String device) {
        return device.startsWith("gpu:") ? Device.gpu(Integer.parseInt(device.substring(4))) : Device.cpu();
    }

    /**
     * The run's final metrics, written into the adapter's {@code peftd.json}: what a comparison's table and report
     * are built from (step time and the eval curve are this attempt's; a resumed run measured only its own steps).
     */
    private static Map<String, Object> metrics(Claim claim, TrainingResult result, TrainingProgress listener) {
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("job", claim.jobId());
        metrics.put("steps", result.steps());
        metrics.put("first_loss", result.firstLoss());
        metrics.put("final_loss", result.finalLoss());
        metrics.put("eval_loss_before", result.evalBefore());
        metrics.put("eval_loss_after", result.evalAfter());
        metrics.put("eval_loss_curve", listener.evalCurve());
        metrics.put("step_seconds", listener.stepSeconds());
        metrics.put("early_stopped", result.earlyStopped());
        if (result.best() != null) {
            metrics.put("best_step", result.bestStep());
            metrics.put("best_valid_loss", result.best().loss());
        }
        metrics.put("training_file", claim.spec().trainingFile());
        claim.spec().validationFile().ifPresent(f -> metrics.put("validation_file", f));
        claim.spec().comparison().ifPresent(c -> metrics.put("comparison", c));
        return metrics;
    }
}
