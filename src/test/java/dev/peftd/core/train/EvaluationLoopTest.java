package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.data.TokenizedExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation loop on the tiny fixture model: the validation numbers a run reports every {@code eval_every} steps
 * and at the end equal an independent recomputation for the adapter at that step; early stopping stops, and
 * {@code keep_best} leaves the best evaluation's adapter in place.
 */
class EvaluationLoopTest {

    private static CausalLm model;

    @BeforeAll
    static void load() throws Exception {
        model = ModelLoader.load(TestModels.tinyLlama());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void validAndTrainMetricsEqualAnIndependentRecomputation() {
        int vocab = model.config().vocabSize();
        List<TokenizedExample> train = TrainingFixtures.randomExamples(vocab, 6, 1);
        List<TokenizedExample> eval = TrainingFixtures.randomExamples(vocab, 7, 2);
        TrainingConfig config = TrainingConfig.builder().lr(2e-2).steps(4).batchSize(6).shuffle(false).seed(3)
                .evalEvery(2).evalSamples(4).build();
        List<TokenizedExample> sample = TrainingRun.evalSample(eval, 4, 3);
        assertThat(sample).hasSize(4).isSubsetOf(eval);

        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(4, 8, 0.0), 7)) {
            // LoRA's B starts at 0: step 1's forward is the base model's on all six training examples (one batch)
            IndependentScore firstStep = IndependentScore.of(model, adapter, train);
            Map<Integer, IndependentScore> recomputed = new TreeMap<>();
            List<StepReport> reports = new ArrayList<>();
            List<Evaluation> full = new ArrayList<>();
            TrainingListener listener = new TrainingListener() {
                @Override
                public void onStep(StepReport report) {
                    reports.add(report);
                    if (report.validation() != null) {   // the adapter is still the one the evaluation scored
                        recomputed.put(report.step(), IndependentScore.of(model, adapter, sample));
                    }
                }

                @Override
                public void onEval(int step, Evaluation evaluation) {
                    full.add(evaluation);
                }
            };
            TrainingResult result = new TrainingRun(model, adapter, new TrainingData(train, eval, 0), config,
                    listener, null).run();
            IndependentScore finalModel = IndependentScore.of(model, adapter, eval);

            assertThat(reports.get(0).loss()).isCloseTo(firstStep.loss(), within(1e-4));
            assertThat(reports.get(0).tokenAccuracy()).isEqualTo(firstStep.accuracy());
            assertThat(reports).filteredOn(r -> r.validation() != null).extracting(StepReport::step)
                    .containsExactly(2, 4);
            for (StepReport r : reports) {
                if (r.validation() == null) {
                    continue;
                }
                IndependentScore expected = recomputed.get(r.step());
                assertThat(r.validation().loss()).as("valid_loss at step %d", r.step())
                        .isCloseTo(expected.loss(), within(1e-4));
                assertThat(r.validation().tokenAccuracy()).isEqualTo(expected.accuracy());
                assertThat(r.validation().tokens()).isEqualTo(expected.tokens());
                assertThat(r.validation().examples()).isEqualTo(4);
            }
            // before training and at the end: the whole validation set
            assertThat(full).hasSize(2);
            assertThat(full.get(1).examples()).isEqualTo(7);
            assertThat(full.get(1).loss()).isCloseTo(finalModel.loss(), within(1e-4));
            assertThat(full.get(1).tokenAccuracy()).isEqualTo(finalModel.accuracy());
            assertThat(result.fullValidation()).isEqualTo(full.get(1));
            assertThat(result.earlyStopped()).isFalse();
        }
    }

    /** Validation data unlike the training data: once the adapter fits the training set, validation loss rises. */
    private static TrainingData overfitting() {
        int vocab = model.config().vocabSize();
        return new TrainingData(TrainingFixtures.randomExamples(vocab, 4, 11),
                TrainingFixtures.randomExamples(vocab, 3, 12), 0);
    }

    private static TrainingConfig.Builder stopping() {
        return TrainingConfig.builder().lr(5e-2).steps(60).batchSize(4).shuffle(false).seed(3)
                .evalEvery(1).earlyStoppingPatience(2).keepBest(true);
    }

    @Test
    void aRunResumedBetweenTheBestAndTheStopStopsAtTheSameStepWithTheSameBestAdapter(@TempDir Path dir) {
        TrainingResult whole;
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(8, 16, 0.0), 7)) {
            whole = new TrainingRun(model, adapter, overfitting(), stopping().build(), TrainingListener.NONE, null)
                    .run();
        }
        assertThat(whole.earlyStopped()).isTrue();
        int cancelAt = whole.steps() - 1;   // after the best, one evaluation without improvement already counted
        TrainingConfig checkpointing = stopping().checkpointEvery(1).build();
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(8, 16, 0.0), 7)) {
            TrainingRun[] run = new TrainingRun[1];
            run[0] = new TrainingRun(model, adapter, overfitting(), checkpointing, report -> {
                if (report.step() == cancelAt) {
                    run[0].cancel();
                }
            }, dir);
            assertThat(run[0].run().cancelled()).isTrue();
        }
        try (AbstractAdapter fresh = TrainingFixtures.adapter(model, TrainingFixtures.lora(8, 16, 0.0), 7)) {
            TrainingResult resumed = new TrainingRun(model, fresh, overfitting(), checkpointing,
                    TrainingListener.NONE, dir).resumeFrom(dir).run();
            assertThat(resumed.earlyStopped()).isTrue();
            assertThat(resumed.steps()).isEqualTo(whole.steps());
            assertThat(resumed.bestStep()).isEqualTo(whole.bestStep()).isLessThan(cancelAt);
            // the best adapter came back from the checkpoint: the final model is the same
            assertThat(resumed.fullValidation().loss()).isCloseTo(whole.fullValidation().loss(), within(1e-6));
        }
    }

    @Test
    void earlyStoppingStopsAndKeepBestEndsWithTheBestEvaluationsAdapter() {
        TrainingData data = overfitting();
        List<TokenizedExample> eval = data.eval();
        TrainingConfig config = stopping().build();
        try (AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(8, 16, 0.0), 7)) {
            TrainingFixtures.Recorder recorder = new TrainingFixtures.Recorder();
            TrainingResult result = new TrainingRun(model, adapter, data, config, recorder, null).run();

            List<StepReport> evaluated = recorder.steps.stream().filter(r -> r.validation() != null).toList();
            StepReport best = evaluated.stream().min(java.util.Comparator.comparingDouble(r -> r.validation().loss()))
                    .orElseThrow();
            assertThat(result.earlyStopped()).isTrue();
            assertThat(result.steps()).isLessThan(60).isEqualTo(best.step() + 2);   // two evaluations without a better one
            assertThat(result.bestStep()).isEqualTo(best.step());
            assertThat(result.best().loss()).isEqualTo(best.validation().loss());
            assertThat(evaluated.get(evaluated.size() - 1).validation().loss()).isGreaterThan(best.validation().loss());
            // the adapter left in place is the best step's: the final evaluation and a recomputation both say so
            assertThat(result.fullValidation().loss()).isCloseTo(best.validation().loss(), within(1e-6));
            assertThat(IndependentScore.of(model, adapter, eval).loss()).isCloseTo(best.validation().loss(),
                    within(1e-4));
        }
    }
}
