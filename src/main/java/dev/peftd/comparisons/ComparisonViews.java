package dev.peftd.comparisons;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonRawValue;
import dev.peftd.comparison.MethodSummary;
import dev.peftd.comparison.Recommendation;
import dev.peftd.job.JobRecord;
import java.util.List;

/** The JSON shapes of {@code /v1/fine_tuning/comparisons}. Numbers a run did not measure are {@code null}. */
final class ComparisonViews {

    private ComparisonViews() {
    }

    /**
     * @param request the checked plan: methods, budget, overrides, seeds, seed
     * @param jobs    the children, in queue order
     * @param table   one row per method with at least one succeeded run, in the order the methods were listed
     */
    record Comparison(String id, String object, @JsonProperty("created_at") long createdAt,
                      @JsonProperty("finished_at") Long finishedAt, String status, String model,
                      @JsonProperty("training_file") String trainingFile,
                      @JsonProperty("validation_file") String validationFile,
                      @JsonProperty("validation_fraction") Double validationFraction,
                      @JsonRawValue Object request, List<Child> jobs, List<Row> table, Advice recommendation) {
    }

    record Child(String id, String method, long seed, String status,
                 @JsonProperty("fine_tuned_model") String fineTunedModel) {

        static Child of(JobRecord job) {
            return new Child(job.id(), job.method().type(), job.seed(), job.status().wire(), job.fineTunedModel());
        }
    }

    /**
     * One method: its succeeded runs summarised over seeds; {@code eval_loss_std} is the sample standard deviation
     * (0 with one seed).
     */
    record Row(String method, int seeds, @JsonProperty("trainable_params") long trainableParams,
               @JsonProperty("trainable_share") Double trainableShare,
               @JsonProperty("adapter_bytes") long adapterBytes,
               @JsonProperty("eval_loss_before") Double evalLossBefore, @JsonProperty("eval_loss") Double evalLoss,
               @JsonProperty("eval_loss_std") Double evalLossStd, @JsonProperty("step_seconds") Double stepSeconds) {

        static Row of(MethodSummary s) {
            return new Row(s.method(), s.runs().size(), s.trainableParams(), finite(s.trainableShare()),
                    s.adapterBytes(), finite(s.evalLossBeforeMean()), finite(s.evalLossMean()),
                    finite(s.evalLossStd()), finite(s.stepSecondsMean()));
        }
    }

    /** The engine's advice and the rule it follows; only once every child has ended. */
    record Advice(String method, String rule, String text) {

        static Advice of(List<MethodSummary> rows) {
            Recommendation r = Recommendation.of(rows);
            return new Advice(r.method(), Recommendation.RULE, r.sentence(rows));
        }
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
