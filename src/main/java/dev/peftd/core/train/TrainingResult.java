package dev.peftd.core.train;

import java.util.List;

/**
 * @param steps        optimizer steps completed (including those before a resume)
 * @param cancelled    stopped by {@link TrainingRun#cancel()} before {@code totalSteps}
 * @param losses       training loss of every completed step, in order
 * @param evalBefore   validation loss before the first step, or {@code null} (no validation data, or resumed)
 * @param evalAfter    validation loss of the final model over the whole validation set, or {@code null}
 * @param earlyStopped stopped by {@code early_stopping_patience} before {@code totalSteps}
 * @param best         the lowest validation-sample loss of the evaluations every {@code eval_every} steps, or
 *                     {@code null} (none ran); under {@code keep_best} the final adapter is this one's
 * @param bestStep     the step of {@code best}, or 0
 * @param fullValidation the final model over the whole validation set, or {@code null}
 */
public record TrainingResult(int steps, int totalSteps, boolean cancelled, List<Double> losses, Double evalBefore,
                             Double evalAfter, boolean earlyStopped, Evaluation best, int bestStep,
                             Evaluation fullValidation) {

    public double firstLoss() {
        return losses.isEmpty() ? Double.NaN : losses.get(0);
    }

    public double finalLoss() {
        return losses.isEmpty() ? Double.NaN : losses.get(losses.size() - 1);
    }
}
