package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.Adapter;
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
 * after-step hook, per step; reports, evaluates, checkpoints and stops early on {@link #cancel()}.
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
    }

    /** Continue from a checkpoint written by a run with the same data and settings (a directory or its parent). */
    public TrainingRun resumeFrom(Path checkpoint) {
        this.resumeFrom = Checkpoint.locate(checkpoint);
        return this;
    }

    public int totalSteps() {
        return totalSteps;
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
        LrSchedule schedule = new LrSchedule(config.schedule(), config.warmupSteps(), totalSteps);
        List<Double> losses = new ArrayList<>();
        int startStep = 0;
        if (resumeFrom != null) {
            startStep = restore(manager, optimizer, losses);
        }
        Double evalBefore = null;
        if (startStep == 0 && !data.eval().isEmpty()) {
            evalBefore = evaluate(manager);
            listener.onEval(0, evalBefore);
        }
        Double evalAfter = null;
        int step = startStep;
        adapter.setTraining(true);
        while (step < totalSteps && !cancelled.get()) {
            StepReport report = step(manager, optimizer, schedule, step);
            step++;
            losses.add(report.loss());
            listener.onStep(report);
            if (!data.eval().isEmpty() && config.evalEvery() > 0 && step % config.evalEvery() == 0 && step < totalSteps) {
                listener.onEval(step, evaluate(manager));
                adapter.setTraining(true);
            }
            if (config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0) {
                listener.onCheckpoint(step, checkpoint(optimizer, step, losses));
            }
        }
        adapter.setTraining(false);
        boolean stoppedEarly = cancelled.get() && step < totalSteps;
        boolean checkpointedThisStep = config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0;
        if (stoppedEarly && checkpointWhenStopping.get() && checkpointRoot != null && step > startStep
                && !checkpointedThisStep) {
            listener.onCheckpoint(step, checkpoint(optimizer, step, losses));
        }
        if (!data.eval().isEmpty()) {
            evalAfter = evaluate(manager);
            listener.onEval(step, evalAfter);
        }
        return new TrainingResult(step, totalSteps, stoppedEarly, List.copyOf(losses),
                evalBefore, evalAfter);
    }

    private StepReport step(NDManager manager, AdamW optimizer, LrSchedule schedule, int step) {
        long started = System.nanoTime();
        double loss = 0;
        int tokens = 0;
        double gradNorm;
        long firstMicro = (long) step * config.gradAccum();
        try (NDScope ignored = new NDScope()) {
            // Dropout draws from libtorch's generator: reseeding per step makes a resumed run draw the same masks.
            JniUtils.setSeed(config.seed() + step);
            List<Batch> window = new ArrayList<>();
            int windowLossTokens = 0;
            for (int i = 0; i < config.gradAccum(); i++) {
                Batch b = batch(firstMicro + i);
                window.add(b);
                windowLossTokens += b.lossTokens();
            }
            // Dividing every micro-batch's sum by the window's token count makes the accumulated gradient that of
            // the token mean over the whole window (transformers' num_items_in_batch).
            NDArray denominator = manager.create((float) windowLossTokens);
            for (Batch b : window) {
                loss += forwardBackward(manager, b, denominator);
                tokens += b.realTokens();
            }
            gradNorm = GradClipping.clip(optimizer.gradients(), config.maxGradNorm());
            optimizer.step(schedule.multiplier(step));
            adapter.afterOptimizerStep(step + 1);
        }
        double millis = (System.nanoTime() - started) / 1e6;
        double lr = config.lr() * schedule.multiplier(step);
        return new StepReport(step + 1, totalSteps, order.epochOf(firstMicro + config.gradAccum() - 1), loss, lr,
                gradNorm, tokens / (millis / 1000.0), millis);
    }

    /** Returns this micro-batch's share of the window loss; its gradient is accumulated into the adapter. */
    private double forwardBackward(NDManager manager, Batch batch, NDArray denominator) {
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

    /** Token-mean loss over the validation set, dropout off, no gradients. */
    private double evaluate(NDManager manager) {
        adapter.setTraining(false);
        double sum = 0;
        long tokens = 0;
        for (int start = 0; start < data.eval().size(); start += config.batchSize()) {
            Batch b = new Batch(data.eval().subList(start, Math.min(data.eval().size(), start + config.batchSize())),
                    data.padId());
            try (NDScope ignored = new NDScope()) {
                sum += ChunkedLoss.summed(model, adapter, b.inputIds(manager), b.targets(manager), b.weights(manager));
            }
            tokens += b.lossTokens();
        }
        return sum / tokens;
    }

    private Path checkpoint(AdamW optimizer, int step, List<Double> losses) {
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
        return Checkpoint.write(checkpointRoot, meta, adapter.stateTensors(), optimizer.stateTensors());
    }

    private int restore(NDManager manager, AdamW optimizer, List<Double> losses) {
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
