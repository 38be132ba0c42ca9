package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.data.TokenizedExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Determinism, resume, cancel and concurrency of {@link TrainingRun} on the tiny-llama fixture. */
class TrainingRunTest {

    private static CausalLm model;
    private static List<TokenizedExample> train;
    private static List<TokenizedExample> eval;

    @BeforeAll
    static void load() throws Exception {
        model = ModelLoader.load(TestModels.tinyLlama());
        int vocab = model.config().vocabSize();
        train = TrainingFixtures.randomExamples(vocab, 10, 1);
        eval = TrainingFixtures.randomExamples(vocab, 4, 2);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Shuffled data over several epochs, dropout on (so the RNG matters), warmup + cosine, clipping, accumulation. */
    private static TrainingConfig.Builder config() {
        return TrainingConfig.builder().lr(1e-2).weightDecay(0.01).warmupSteps(2)
                .schedule(dev.peftd.core.train.optim.LrSchedule.Kind.COSINE).steps(8).batchSize(3).gradAccum(2)
                .maxGradNorm(1.0).seed(11);
    }

    private static TrainingFixtures.Recorder train(TrainingConfig config, Path checkpoints, Path resume,
                                                   int cancelAfter) {
        return train(config, checkpoints, resume, cancelAfter, false);
    }

    /** @param keepSteps stop with {@link TrainingRun#stopWithCheckpoint()} instead of {@link TrainingRun#cancel()} */
    private static TrainingFixtures.Recorder train(TrainingConfig config, Path checkpoints, Path resume,
                                                   int cancelAfter, boolean keepSteps) {
        TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(4, 8, 0.1), 5)) {
            TrainingRun[] run = new TrainingRun[1];
            TrainingListener listener = new TrainingListener() {
                @Override
                public void onStep(StepReport report) {
                    recorder.onStep(report);
                    if (report.step() == cancelAfter && keepSteps) {
                        run[0].stopWithCheckpoint();
                    } else if (report.step() == cancelAfter) {
                        run[0].cancel();
                    }
                }

                @Override
                public void onEval(int step, Evaluation full) {
                    recorder.onEval(step, full);
                }
            };
            run[0] = new TrainingRun(model, adapter, new TrainingData(train, eval, 0), config, listener, checkpoints);
            if (resume != null) {
                run[0].resumeFrom(resume);
            }
            TrainingResult result = run[0].run();
            assertThat(result.cancelled()).isEqualTo(cancelAfter > 0 && cancelAfter < result.totalSteps());
        }
        return recorder;
    }

    @Test
    void sameSeedSameLossesAndTrainingLowersEvalLoss() {
        TrainingFixtures.Recorder a = train(config().build(), null, null, -1);
        TrainingFixtures.Recorder b = train(config().build(), null, null, -1);
        assertThat(a.losses()).hasSize(8).isEqualTo(b.losses());
        assertThat(a.evals).hasSize(2);
        assertThat(a.evals.get(1)[1]).isLessThan(a.evals.get(0)[1]);
        assertThat(a.steps).allSatisfy(r -> {
            assertThat(r.tokensPerSecond()).isPositive();
            assertThat(r.gradNorm()).isPositive();
        });
        assertThat(a.steps.get(0).learningRate()).isZero(); // warmup starts at 0, as in HF
        TrainingFixtures.Recorder otherSeed = train(config().seed(12).build(), null, null, -1);
        assertThat(otherSeed.losses()).isNotEqualTo(a.losses());
    }

    @Test
    void cancelledAndResumedRunGivesTheUninterruptedLosses(@TempDir Path dir) throws Exception {
        List<Double> uninterrupted = train(config().build(), null, null, -1).losses();

        TrainingFixtures.Recorder first = train(config().checkpointEvery(3).build(), dir, null, 5);
        assertThat(first.steps).hasSize(5); // cancelled between steps 5 and 6
        assertThat(Files.isRegularFile(dir.resolve("step-000003/checkpoint.json"))).isTrue();
        assertThat(Files.exists(dir.resolve("step-000006"))).isFalse();

        // resume from the step-3 checkpoint: steps 4..8 must repeat the uninterrupted run exactly
        TrainingFixtures.Recorder resumed = train(config().checkpointEvery(3).build(), dir, dir.resolve("step-000003"), -1);
        assertThat(resumed.steps).extracting(StepReport::step).containsExactly(4, 5, 6, 7, 8);
        assertThat(resumed.losses()).isEqualTo(uninterrupted.subList(3, 8));
    }

    /** A paused job's run: no periodic checkpoints asked for, yet the steps done are saved and resume exactly. */
    @Test
    void aRunStoppedToContinueCheckpointsItsStepsEvenWithoutPeriodicCheckpoints(@TempDir Path dir) {
        List<Double> uninterrupted = train(config().build(), null, null, -1).losses();

        TrainingFixtures.Recorder first = train(config().checkpointEvery(0).build(), dir, null, 5, true);
        assertThat(first.steps).hasSize(5);
        assertThat(Files.isRegularFile(dir.resolve("step-000005/checkpoint.json"))).isTrue();

        TrainingFixtures.Recorder resumed = train(config().checkpointEvery(0).build(), dir, dir.resolve("step-000005"),
                -1);
        assertThat(resumed.steps).extracting(StepReport::step).containsExactly(6, 7, 8);
        assertThat(resumed.losses()).isEqualTo(uninterrupted.subList(5, 8));
    }

    @Test
    void resumeRefusesOtherSettings(@TempDir Path dir) {
        train(config().checkpointEvery(2).steps(2).build(), dir, null, -1);
        assertThatThrownBy(() -> train(config().batchSize(2).build(), null, dir, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch_size");
        assertThatThrownBy(() -> train(config().build(), null, dir.resolve("nothing-here"), -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("resume");
    }

    @Test
    void twoTrainingsOnTwoThreadsGiveTheLossesOfEachAlone() throws Exception {
        TrainingConfig c1 = config().build();
        TrainingConfig c2 = config().seed(99).lr(3e-3).build();
        // no dropout here: libtorch's generator is process-wide, so concurrent dropout masks would interleave
        Callable<List<Double>> job1 = () -> trainWithoutDropout(c1);
        Callable<List<Double>> job2 = () -> trainWithoutDropout(c2);
        List<Double> alone1 = job1.call();
        List<Double> alone2 = job2.call();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<List<Double>> f1 = pool.submit(job1);
            Future<List<Double>> f2 = pool.submit(job2);
            assertThat(f1.get()).isEqualTo(alone1);
            assertThat(f2.get()).isEqualTo(alone2);
        } finally {
            pool.shutdown();
        }
        assertThat(alone1).isNotEqualTo(alone2);
    }

    private static List<Double> trainWithoutDropout(TrainingConfig config) {
        TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(4, 8, 0.0), 5)) {
            new TrainingRun(model, adapter, new TrainingData(train, List.of(), 0), config, recorder, null).run();
        }
        return recorder.losses();
    }
}
