package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.Adapter;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.tensor.NoGrad;
import dev.peftd.core.train.data.Batch;
import dev.peftd.core.train.data.DataOrder;
import dev.peftd.core.train.data.TokenizedExample;
import dev.peftd.core.train.optim.AdamW;
import dev.peftd.core.train.optim.GradClipping;
import dev.peftd.core.train.optim.LrSchedule;
import dev.peftd.core.train.optim.ParamGroup;
import dev.peftd.core.train.optim.ParamGroups;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Trains an adapter on a frozen model: forward, next-token loss, backward, clipping, AdamW, the adapter's
 * after-step hook, per step; reports, evaluates (every {@code eval_every} steps on a fixed validation sample, and on
 * the whole validation set before and after), checkpoints, stops on {@link #cancel()} or when the validation loss
 * has not improved for {@code early_stopping_patience} evaluations, and under {@code keep_best} ends with the best
 * evaluation's adapter.
 *
 * <p>Thread model: everything runs on the calling thread. Grad mode is switched on only around forward and backward
 * with {@code JniUtils.setGradMode} (thread-local), never through DJL's JVM-wide GradientCollector, so several runs
 * may train in one JVM at once. Every array a step creates is closed by the step's {@link NDScope}.
 */
public final class TrainingRun {

    private final CausalLm model;
    private final Adapter adapter;
    private final TrainingData data;
    private final TrainingConfig config;
    private final TrainingListener listener;
    private final Path checkpointRoot;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final AtomicBoolean checkpointWhenStopping = new AtomicBoolean();
    private final DataOrder order;
    private final int totalSteps;
    private final List<TokenizedExample> evalSample;
    private Path resumeFrom;

    /**
     * @param checkpointRoot where {@code step-NNNNNN} checkpoints go; may be {@code null} when
     *                       {@code config.checkpointEvery() == 0}
     */
    public TrainingRun(CausalLm model, Adapter adapter, TrainingData data, TrainingConfig config,
                       TrainingListener listener, Path checkpointRoot) {
        if (config.checkpointEvery() > 0 && checkpointRoot == null) {
            throw new IllegalArgumentException("checkpoint_every: set, but no checkpoint directory was given");
        }
        this.model = model;
        this.adapter = adapter;
        this.data = data;
        this.config = config;
        this.listener = listener;
        this.checkpointRoot = checkpointRoot;
        this.order = new DataOrder(data.train().size(), config.batchSize(), config.seed(), config.shuffle());
        this.totalSteps = config.totalStepsFor(data.train().size());
        this.evalSample = evalSample(data.eval(), config.evalSamples(), config.seed());
        if (data.eval().isEmpty() && config.earlyStoppingPatience() > 0) {
            throw new InvalidSettingException("early_stopping_patience", "needs validation data to evaluate on");
        }
        if (data.eval().isEmpty() && config.keepBest()) {
            throw new InvalidSettingException("keep_best", "needs validation data to evaluate on");
        }
    }

    /** Continue from a checkpoint written by a run with the same data and settings (a directory or its parent). */
    public TrainingRun resumeFrom(Path checkpoint) {
        this.resumeFrom = Checkpoint.locate(checkpoint);
        return this;
    }

    public int totalSteps() {
        return totalSteps;
    }

    /**
     * Passes over the training data the run reaches, counted from 1: {@code n_epochs} when the run is sized by it,
     * and what {@code max_steps} comes to otherwise (a partly run last epoch counts, as in HF's
     * {@code num_train_epochs}); the epoch of the last step's last micro-batch, as {@link StepReport#epoch()} counts.
     */
    public int epochs() {
        return order.epochOf((long) totalSteps * config.gradAccum() - 1) + 1;
    }

    /** Asks the run to stop before its next step; safe from any thread. */
    public void cancel() {
        cancelled.set(true);
    }

    /**
     * Asks the run to stop before its next step and to checkpoint the steps done since the last checkpoint, so that
     * a resumed run repeats none (a process shutting down, a paused job); safe from any thread. The checkpoint is
     * written even when {@code checkpoint_every} is 0, since the run will continue from it; without a checkpoint
     * directory this is {@link #cancel()}.
     */
    public void stopWithCheckpoint() {
        checkpointWhenStopping.set(true);
        cancelled.set(true);
    }

    public TrainingResult run() {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             AdamW optimizer = new AdamW(groups(), config.betas())) {
            return train(manager, optimizer);
        } finally {
            adapter.setTraining(false);
        }
    }

    private List<ParamGroup> groups() {
        List<TrainableTensor> tensors = adapter.trainableTensors();
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("adapter: has no trainable tensors");
        }
        return adapter.loraPlusRatio() > 0
                ? ParamGroups.loraPlus(tensors, config.lr(), adapter.loraPlusRatio(), config.weightDecay())
                : ParamGroups.single(tensors, config.lr(), config.weightDecay());
    }

    private TrainingResult train(NDManager manager, AdamW optimizer) {
        try (BestEvaluation best = new BestEvaluation(manager, config.keepBest())) {
            return train(manager, optimizer, best);
        }
    }

    private TrainingResult train(NDManager manager, AdamW optimizer, BestEvaluation best) {
        LrSchedule schedule = new LrSchedule(config.schedule(), config.warmupSteps(), totalSteps);
        List<Double> losses = new ArrayList<>();
        int startStep = 0;
        if (resumeFrom != null) {
            startStep = restore(manager, optimizer, losses, best);
        }
        Evaluation before = null;
        if (startStep == 0 && !data.eval().isEmpty()) {
            before = evaluate(manager, data.eval());
            listener.onEval(0, before);
        }
        boolean evaluating = config.evaluatesDuringTraining() && !evalSample.isEmpty();
        boolean earlyStopped = false;
        Evaluation last = null;
        int step = startStep;
        adapter.setTraining(true);
        while (step < totalSteps && !cancelled.get() && !earlyStopped) {
            StepReport report = step(manager, optimizer, schedule, step);
            step++;
            losses.add(report.loss());
            last = null;
            if (evaluating && step % config.evalEvery() == 0) {
                last = evaluate(manager, evalSample);
                adapter.setTraining(true);
                best.offer(step, last, adapter);
                report = report.withValidation(last);
                earlyStopped = best.exhausted(config.earlyStoppingPatience()) && step < totalSteps;
            }
            listener.onStep(report);
            if (config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0) {
                listener.onCheckpoint(step, checkpoint(optimizer, step, losses, best));
            }
        }
        adapter.setTraining(false);
        boolean stoppedEarly = cancelled.get() && step < totalSteps && !earlyStopped;
        boolean checkpointedThisStep = config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0;
        if (stoppedEarly && checkpointWhenStopping.get() && checkpointRoot != null && step > startStep
                && !checkpointedThisStep) {
            listener.onCheckpoint(step, checkpoint(optimizer, step, losses, best));
        }
        Evaluation full = null;
        if (!stoppedEarly) {
            boolean restored = config.keepBest() && best.bestStep() != step && best.restoreInto(adapter);
            full = finalEvaluation(manager, restored ? null : last);
            if (full != null) {
                listener.onEval(step, full);
            }
        }
        return new TrainingResult(step, totalSteps, stoppedEarly, List.copyOf(losses),
                before == null ? null : before.loss(), full == null ? null : full.loss(), earlyStopped, best.best(),
                best.bestStep(), full);
    }

    /**
     * The final model over the whole validation set; the last step's evaluation serves when it already covered the
     * whole set of the same adapter.
     */
    private Evaluation finalEvaluation(NDManager manager, Evaluation lastStepEvaluation) {
        if (data.eval().isEmpty()) {
            return null;
        }
        if (lastStepEvaluation != null && evalSample.size() == data.eval().size()) {
            return lastStepEvaluation;
        }
        return evaluate(manager, data.eval());
    }

    private StepReport step(NDManager manager, AdamW optimizer, LrSchedule schedule, int step) {
        long started = System.nanoTime();
        double loss = 0;
        long correct = 0;
        int tokens = 0;
        int windowLossTokens = 0;
        double gradNorm;
        long firstMicro = (long) step * config.gradAccum();
        try (NDScope ignored = new NDScope()) {
            // Dropout draws from libtorch's generator: reseeding per step makes a resumed run draw the same masks.
            JniUtils.setSeed(config.seed() + step);
            List<Batch> window = new ArrayList<>();
            for (int i = 0; i < config.gradAccum(); i++) {
                Batch b = batch(firstMicro + i);
                window.add(b);
                windowLossTokens += b.lossTokens();
            }
            // Dividing every micro-batch's sum by the window's token count makes the accumulated gradient that of
            // the token mean over the whole window (transformers' num_items_in_batch).
            NDArray denominator = manager.create((float) windowLossTokens);
            for (Batch b : window) {
                ChunkedLoss.Pass pass = forwardBackward(manager, b, denominator);
                loss += pass.loss();
                correct += pass.correct();
                tokens += b.realTokens();
            }
            gradNorm = GradClipping.clip(optimizer.gradients(), config.maxGradNorm());
            optimizer.step(schedule.multiplier(step));
            adapter.afterOptimizerStep(step + 1);
        }
        double millis = (System.nanoTime() - started) / 1e6;
        double lr = config.lr() * schedule.multiplier(step);
        return new StepReport(step + 1, totalSteps, order.epochOf(firstMicro + config.gradAccum() - 1), loss,
                (double) correct / windowLossTokens, lr, gradNorm, tokens / (millis / 1000.0), millis, null);
    }

    /** Returns this micro-batch's share of the window loss; its gradient is accumulated into the adapter. */
    private ChunkedLoss.Pass forwardBackward(NDManager manager, Batch batch, NDArray denominator) {
        NDArray ids = batch.inputIds(manager);                            // [B, T]
        NDArray targets = batch.targets(manager);                         // [B, T]
        NDArray weights = batch.weights(manager);                         // [B, T]
        JniUtils.setGradMode(true);
        try {
            return ChunkedLoss.forwardBackward(model, adapter, ids, targets, weights, denominator);
        } finally {
            JniUtils.setGradMode(false);
        }
    }

    private Batch batch(long microBatch) {
        List<TokenizedExample> rows = new ArrayList<>();
        for (int i : order.batch(microBatch)) {
            rows.add(data.train().get(i));
        }
        return new Batch(rows, data.padId());
    }

    /** Token-mean loss and argmax accuracy over {@code examples}, dropout off, no gradients. */
    private Evaluation evaluate(NDManager manager, List<TokenizedExample> examples) {
        adapter.setTraining(false);
        double sum = 0;
        long correct = 0;
        long tokens = 0;
        for (int start = 0; start < examples.size(); start += config.batchSize()) {
            Batch b = new Batch(examples.subList(start, Math.min(examples.size(), start + config.batchSize())),
                    data.padId());
            try (NDScope ignored = new NDScope()) {
                ChunkedLoss.Pass pass = ChunkedLoss.summed(model, adapter, b.inputIds(manager), b.targets(manager),
                        b.weights(manager));
                sum += pass.loss();
                correct += pass.correct();
            }
            tokens += b.lossTokens();
        }
        return new Evaluation(sum / tokens, (double) correct / tokens, tokens, examples.size());
    }

    /**
     * The fixed validation sample every {@code eval_every} evaluation scores: the whole set when it has at most
     * {@code eval_samples} examples (or that is 0), else that many drawn once with the run's seed, in file order.
     */
    static List<TokenizedExample> evalSample(List<TokenizedExample> eval, int samples, long seed) {
        if (samples == 0 || eval.size() <= samples) {
            return eval;
        }
        List<Integer> indices = new ArrayList<>(java.util.stream.IntStream.range(0, eval.size()).boxed().toList());
        java.util.Collections.shuffle(indices, new java.util.Random(seed));
        return indices.subList(0, samples).stream().sorted().map(eval::get).toList();
    }

    private Path checkpoint(AdamW optimizer, int step, List<Double> losses, BestEvaluation best) {
        Checkpoint.Meta meta = new Checkpoint.Meta();
        meta.step = step;
        meta.nextMicroBatch = (long) step * config.gradAccum();
        meta.epoch = order.epochOf(meta.nextMicroBatch);
        meta.rng = "libtorch generator reseeded with seed+step at each step; data order = f(seed, micro-batch)";
        meta.losses = List.copyOf(losses);
        meta.seed = config.seed();
        meta.batchSize = config.batchSize();
        meta.gradAccum = config.gradAccum();
        meta.totalSteps = totalSteps;
        meta.trainExamples = data.train().size();
        meta.best = best.best();
        meta.bestStep = best.bestStep();
        meta.evalsSinceBest = best.sinceBest();
        return Checkpoint.write(checkpointRoot, meta, adapter.stateTensors(), optimizer.stateTensors(), best.state());
    }

    private int restore(NDManager manager, AdamW optimizer, List<Double> losses, BestEvaluation best) {
        Checkpoint.Meta meta = Checkpoint.readMeta(resumeFrom);
        mustMatch("seed", meta.seed, config.seed());
        mustMatch("batch_size", meta.batchSize, config.batchSize());
        mustMatch("grad_accum", meta.gradAccum, config.gradAccum());
        mustMatch("total steps", meta.totalSteps, totalSteps);
        mustMatch("training examples", meta.trainExamples, data.train().size());
        try (NDManager loading = manager.newSubManager()) {
            adapter.loadStateTensors(Checkpoint.readTensors(resumeFrom.resolve("adapter_state.safetensors"), loading));
            Map<String, NDArray> state = Checkpoint.readTensors(resumeFrom.resolve("optimizer.safetensors"), loading);
            optimizer.restore(state, meta.step);
            if (meta.best != null) {
                best.restore(meta.best, meta.bestStep, meta.evalsSinceBest, Checkpoint.readBestAdapter(resumeFrom,
                        loading));
            }
        }
        losses.addAll(meta.losses);
        return meta.step;
    }

    private void mustMatch(String field, long saved, long now) {
        if (saved != now) {
            throw new IllegalArgumentException("resume: " + field + " is " + now + " but the checkpoint in "
                    + resumeFrom + " was made with " + saved);
        }
    }
}
