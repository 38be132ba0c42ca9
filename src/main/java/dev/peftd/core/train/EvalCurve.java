package dev.peftd.core.train;

import java.util.ArrayList;
import java.util.List;

/**
 * The validation loss over a run, one point per evaluation: the sampled ones of {@code eval_every} steps
 * ({@link StepReport#validation()}) and the whole-file passes before and after training
 * ({@link TrainingListener#onEval}). At the last step both may come; the whole-file pass replaces the sample there, so
 * the curve ends on the number the run reports as its final eval loss.
 */
public final class EvalCurve {

    /** One evaluation: the validation loss after {@code step} optimizer steps. */
    public record Point(int step, double loss) {
    }

    private final List<Point> points = new ArrayList<>();

    /** Records the step's sampled evaluation, if it had one. */
    public void onStep(StepReport report) {
        if (report.validation() != null) {
            add(report.step(), report.validation().loss());
        }
    }

    /** Records a whole-file evaluation, replacing a sampled one at the same step. */
    public void onEval(int step, Evaluation full) {
        if (!points.isEmpty() && points.get(points.size() - 1).step() == step) {
            points.remove(points.size() - 1);
        }
        add(step, full.loss());
    }

    private void add(int step, double loss) {
        points.add(new Point(step, loss));
    }

    public List<Point> points() {
        return List.copyOf(points);
    }
}
