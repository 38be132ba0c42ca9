package dev.peftd.comparison;

import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.peft.AdapterExport;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.MethodSettings;
import dev.peftd.core.train.EvalCurve;
import dev.peftd.core.train.Evaluation;
import dev.peftd.core.train.StepReport;
import dev.peftd.core.train.StepTimes;
import dev.peftd.core.train.TrainingData;
import dev.peftd.core.train.TrainingListener;
import dev.peftd.core.train.TrainingResult;
import dev.peftd.core.train.TrainingRun;
import dev.peftd.core.train.data.JsonlDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a comparison's runs one after the other in this process with the core's {@link TrainingRun}, each on a
 * freshly loaded base (Delta-LoRA moves the base weights, so no run may see another's), and exports each adapter as a
 * PEFT directory under {@code adapters/<method>/seed-<seed>}. Every run of one seed draws the same batches in the
 * same order: the order is a function of the training set, the batch size and the seed only.
 */
public final class LocalComparison {

    /** Where a run's adapter goes, relative to the comparison's directory. */
    public static String adapterDir(String method, long seed) {
        return "adapters/" + method + "/seed-" + seed;
    }

    /** Memory of the process, per run: the command line reads Linux's peak RSS and resets it before each run. */
    public interface MemoryGauge {
        void resetPeak();

        double peakMb();
    }

    /** Told about each run as it starts and after each one ends. */
    public interface Progress {
        /** Returns the listener that shows the run's progress. */
        TrainingListener starting(String method, long seed, int index, int count);

        /**
         * Every run finished so far, after each run: a long comparison can write its report as it goes, so that one
         * stopped early still reports what it trained.
         */
        default void finished(List<MethodRun> soFar) throws IOException {
        }
    }

    private final Path modelDir;
    private final String modelName;
    private final Path trainFile;
    private final Path evalFile;
    private final MemoryGauge memory;

    /**
     * @param modelName what the report and the adapters' {@code base_model_name_or_path} call the base model
     */
    public LocalComparison(Path modelDir, String modelName, Path trainFile, Path evalFile, MemoryGauge memory) {
        this.modelDir = modelDir;
        this.modelName = modelName;
        this.trainFile = trainFile;
        this.evalFile = evalFile;
        this.memory = memory;
    }

    /**
     * Trains every run (each a method's settings with its seed in {@code training().seed()}) and exports its adapter.
     *
     * @param outDir the comparison's directory
     */
    public List<MethodRun> run(List<MethodSettings> runs, Path outDir, Progress progress) throws IOException {
        List<MethodRun> done = new ArrayList<>();
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            for (int i = 0; i < runs.size(); i++) {
                MethodSettings s = runs.get(i);
                TrainingListener shown = progress.starting(s.method().id(), s.training().seed(), i, runs.size());
                done.add(runOne(s, tokenizer, outDir, shown));
                progress.finished(List.copyOf(done));
            }
        }
        return done;
    }

    private MethodRun runOne(MethodSettings s, Tokenizer tokenizer, Path outDir, TrainingListener shown)
            throws IOException {
        long seed = s.training().seed();
        String relative = adapterDir(s.method().id(), seed);
        Path dir = outDir.resolve(relative);
        memory.resetPeak();
        try (CausalLm model = ModelLoader.load(modelDir, s.dtype())) {
            int maxSeqLen = Math.min(s.maxSeqLength(), model.config().maxPositionEmbeddings());
            TrainingData data = new TrainingData(JsonlDataset.read(trainFile, tokenizer, maxSeqLen).examples(),
                    JsonlDataset.read(evalFile, tokenizer, maxSeqLen).examples(),
                    (int) tokenizer.eosTokenId().orElse(0));
            int totalSteps = s.training().totalStepsFor(data.train().size());
            Recorder recorder = new Recorder(shown);
            try (AbstractAdapter adapter = Adapters.create(s.adapter().forRunOf(totalSteps), model.linears(), seed)) {
                TrainingResult result = new TrainingRun(model, adapter, data, s.training(), recorder,
                        dir.resolve("checkpoints")).run();
                AdapterAnalysis analysis = AdapterExport.write(adapter, modelName, modelDir, model.config(), dir,
                        sidecarMetrics(s, result), false);
                return new MethodRun(s.method().id(), seed, relative, result.evalBefore(), result.evalAfter(),
                        recorder.curve.points().stream().map(p -> new MethodRun.CurvePoint(p.step(), p.loss()))
                                .toList(),
                        StepTimes.medianAfterFirst(recorder.stepMillis) / 1000.0, memory.peakMb(),
                        Files.size(dir.resolve("adapter_model.safetensors")), s.values(), analysis);
            }
        }
    }

    private Map<String, Object> sidecarMetrics(MethodSettings s, TrainingResult result) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("steps", result.steps());
        m.put("final_loss", result.finalLoss());
        m.put("eval_loss_before", result.evalBefore());
        m.put("eval_loss_after", result.evalAfter());
        m.put("training", s.training().asMap());
        m.put("data", trainFile.getFileName().toString());
        m.put("eval_data", evalFile.getFileName().toString());
        return m;
    }

    /** Keeps the eval curve and step times, and passes every event on to the progress display. */
    private static final class Recorder implements TrainingListener {
        private final TrainingListener shown;
        private final EvalCurve curve = new EvalCurve();
        private final List<Double> stepMillis = new ArrayList<>();

        Recorder(TrainingListener shown) {
            this.shown = shown;
        }

        @Override
        public void onStep(StepReport report) {
            stepMillis.add(report.stepMillis());
            curve.onStep(report);
            shown.onStep(report);
        }

        @Override
        public void onEval(int step, Evaluation full) {
            curve.onEval(step, full);
            shown.onEval(step, full);
        }
    }
}
