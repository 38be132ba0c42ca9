package dev.peftd.core.train;

import java.util.List;

/**
 * @param steps      optimizer steps completed (including those before a resume)
 * @param cancelled  stopped by {@link TrainingRun#cancel()} before {@code totalSteps}
 * @param losses     training loss of every completed step, in order
 * @param evalBefore validation loss before the first step, or {@code null} (no validation data, or resumed)
 * @param evalAfter  validation loss after the last step, or {@code null}
 */
public record TrainingResult(int steps, int totalSteps, boolean cancelled, List<Double> losses, Double evalBefore,
                             Double evalAfter) {

    public double firstLoss() {
        return losses.isEmpty() ? Double.NaN : losses.get(0);
    }

    public double finalLoss() {
        return losses.isEmpty() ? Double.NaN : losses.get(losses.size() - 1);
    }
}
