package dev.peftd.core.train;

/**
 * What one optimizer step did.
 *
 * @param step            1-based index of the completed step
 * @param totalSteps      steps the run will take
 * @param epoch           0-based epoch of the step's last micro-batch
 * @param loss            token-mean cross-entropy over the step's micro-batches (before the update)
 * @param learningRate    the base group's learning rate used for this update (after the schedule)
 * @param gradNorm        global L2 norm of the gradients before clipping
 * @param tokensPerSecond non-padding tokens processed per second of wall time in this step
 * @param stepMillis      wall time of the step
 */
public record StepReport(int step, int totalSteps, int epoch, double loss, double learningRate, double gradNorm,
                         double tokensPerSecond, double stepMillis) {
}
