package dev.peftd.training;

import dev.peftd.core.train.EvalCurve;
import dev.peftd.core.train.Evaluation;
import dev.peftd.core.train.StepReport;
import dev.peftd.core.train.StepTimes;
import dev.peftd.core.train.TrainingListener;
import dev.peftd.core.train.TrainingRun;
import dev.peftd.ops.ServiceMeters;
import dev.peftd.queue.Claim;
import dev.peftd.queue.JobQueue;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import dev.peftd.worker.JobJournal;
import dev.peftd.worker.RunControl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.springframework.stereotype.Component;
import org.springframework.util.FileSystemUtils;

/**
 * The service side of a training run, called on the training thread: after each step it records progress on the job
 * (fenced on the lease), writes a metrics event and updates the meters, and asks the run to stop at this step
 * boundary when the worker wants it to; after each checkpoint it adds the adapter's PEFT export (so the checkpoint
 * serves as a model), uploads it to the store, records it and prunes the older ones ({@link CheckpointRetention}).
 */
final class TrainingProgress implements TrainingListener, AutoCloseable {

    /** Creates one listener per run. */
    @Component
    static class Factory {
        private final JobQueue queue;
        private final JobJournal journal;
        private final CheckpointLog checkpoints;
        private final ArtifactStore store;
        private final ServiceMeters meters;
        private final CheckpointRetention retention;
        private final Clock clock;

        Factory(JobQueue queue, JobJournal journal, CheckpointLog checkpoints, ArtifactStore store,
                ServiceMeters meters, CheckpointRetention retention, Clock clock) {
            this.queue = queue;
            this.journal = journal;
            this.checkpoints = checkpoints;
            this.store = store;
            this.meters = meters;
            this.retention = retention;
            this.clock = clock;
        }

        /** @param method the method's id, a label of the job's meters */
        TrainingProgress create(Claim claim, String method, RunControl control, Path localCheckpoints,
                                AdapterExport export) {
            return new TrainingProgress(this, claim, method, control, localCheckpoints, export);
        }
    }

    /** Writes the adapter as it is now as a PEFT directory: a checkpoint is also a model that serves. */
    @FunctionalInterface
    interface AdapterExport {
        void write(Path directory) throws IOException;
    }

    private final Factory f;
    private final Claim claim;
    private final ServiceMeters.JobLabels labels;
    private final RunControl control;
    private final Path localCheckpoints;
    private final AdapterExport export;
    private TrainingRun run;
    private long trainedTokens;
    private double lastLoss = Double.NaN;
    private final List<Double> stepMillis = new ArrayList<>();
    private final EvalCurve evalCurve = new EvalCurve();
    private int lastEvalStep = -1;
    private double lastEvalLoss = Double.NaN;

    private TrainingProgress(Factory factory, Claim claim, String method, RunControl control, Path localCheckpoints,
            AdapterExport export) {
        this.f = factory;
        this.export = export;
        this.claim = claim;
        this.labels = new ServiceMeters.JobLabels(claim.jobId(), method, claim.spec().comparison());
        this.control = control;
        this.localCheckpoints = localCheckpoints;
        this.trainedTokens = claim.checkpointTokens();   // a resumed run continues the count of its checkpoint
    }

    void attach(TrainingRun trainingRun) {
        this.run = trainingRun;
        if (!f.queue.planned(claim, run.totalSteps(), run.epochs())) {
            control.request(RunControl.Stop.LEASE_LOST);
        }
        stopIfAsked();
    }

    /**
     * Passes a stop request on to the run: a shutdown or a pause checkpoints the steps done first (the job continues
     * from them), anything else just stops.
     */
    private void stopIfAsked() {
        if (run == null || !control.shouldStop()) {
            return;
        }
        if (control.handsBack()) {
            run.stopWithCheckpoint();
        } else {
            run.cancel();
        }
    }

    long trainedTokens() {
        return trainedTokens;
    }

    /**
     * Median wall time of this attempt's optimizer steps, the first (which pays warm-up) left out; NaN before two steps.
     * A comparison's table shows it, the same measure as the command line's.
     */
    double stepSeconds() {
        return StepTimes.medianAfterFirst(stepMillis) / 1000.0;
    }

    /** Eval loss by step as this attempt evaluated it ({@code step}, {@code eval_loss}): before, during and after. */
    List<Map<String, Object>> evalCurve() {
        return evalCurve.points().stream().<Map<String, Object>>map(p -> Map.of("step", p.step(), "eval_loss", p.loss()))
                .toList();
    }

    @Override
    public void onStep(StepReport report) {
        long stepTokens = Math.round(report.tokensPerSecond() * report.stepMillis() / 1000.0);
        trainedTokens += stepTokens;
        lastLoss = report.loss();
        if (!f.queue.progress(claim, report.step(), report.totalSteps(), trainedTokens)) {
            control.request(RunControl.Stop.LEASE_LOST);
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("step", report.step());
        data.put("train_loss", report.loss());
        data.put("train_mean_token_accuracy", report.tokenAccuracy());
        Evaluation valid = report.validation();
        if (valid != null) {
            data.put("valid_loss", valid.loss());
            data.put("valid_mean_token_accuracy", valid.tokenAccuracy());
            lastEvalStep = report.step();
            lastEvalLoss = valid.loss();
        }
        data.put("total_steps", report.totalSteps());
        data.put("epoch", report.epoch() + 1);   // counted from 1, as the job's n_epochs counts them
        data.put("learning_rate", report.learningRate());
        data.put("grad_norm", report.gradNorm());
        data.put("tokens_per_second", report.tokensPerSecond());
        data.put("step_millis", report.stepMillis());
        f.journal.metrics(claim.jobId(), String.format(Locale.ROOT, "Step %d/%d: training loss=%.4f%s", report.step(),
                report.totalSteps(), report.loss(), valid == null ? ""
                        : String.format(Locale.ROOT, ", validation loss=%.4f", valid.loss())), data);
        f.meters.step(labels, report.loss(), report.tokensPerSecond(), stepTokens);
        stepMillis.add(report.stepMillis());
        evalCurve.onStep(report);
        stopIfAsked();   // takes effect before the next step: the step boundary
    }

    @Override
    public void onEval(int step, Evaluation full) {
        evalCurve.onEval(step, full);
        if (step == 0) {
            f.journal.message(claim.jobId(), JobJournal.Level.info, String.format(Locale.ROOT,
                    "Step 0: validation loss=%.4f, token accuracy=%.4f", full.loss(), full.tokenAccuracy()));
            return;
        }
        // OpenAI reports the final model on the whole validation file as full_valid_* at the last step
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("step", step);
        data.put("full_valid_loss", full.loss());
        data.put("full_valid_mean_token_accuracy", full.tokenAccuracy());
        data.put("total_steps", run == null ? step : run.totalSteps());
        f.journal.metrics(claim.jobId(), String.format(Locale.ROOT, "Step %d: full validation loss=%.4f, token"
                + " accuracy=%.4f (%d examples)", step, full.loss(), full.tokenAccuracy(), full.examples()), data);
    }

    @Override
    public void onCheckpoint(int step, Path directory) {
        String key = ObjectKeys.checkpoint(claim.tenant(), claim.jobId(), step);
        try {
            // the run calls this right after writing the state, before the next step: the adapter is that state's
            export.write(directory.resolve(ObjectKeys.CHECKPOINT_ADAPTER));
            f.store.putDirectory(key, directory);
            pruneOlderThan(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint at step " + step + ": upload to " + f.store.location()
                    + " failed: " + e.getMessage(), e);
        }
        if (!f.queue.checkpointed(claim, step, trainedTokens)) {
            control.request(RunControl.Stop.LEASE_LOST);
            if (run != null) {
                run.cancel();
            }
            return;
        }
        f.checkpoints.record(claim.jobId(), step, Double.isNaN(lastLoss) ? null : lastLoss,
                lastEvalStep == step ? lastEvalLoss : null, key, f.clock.instant());
        f.journal.message(claim.jobId(), JobJournal.Level.info, "Checkpoint saved at step " + step);
        f.retention.prune(claim.jobId(), step);   // only after the lease check: a run that lost its job prunes nothing
    }

    /** Local copies of earlier checkpoints are no longer needed once a newer one is in the store. */
    private void pruneOlderThan(Path current) throws IOException {
        try (Stream<Path> dirs = Files.list(localCheckpoints)) {
            for (Path dir : dirs.filter(d -> !d.equals(current) && d.getFileName().toString().startsWith("step-"))
                    .toList()) {
                FileSystemUtils.deleteRecursively(dir);
            }
        }
    }

    @Override
    public void close() {
        f.meters.jobEnded(claim.jobId());
    }
}
