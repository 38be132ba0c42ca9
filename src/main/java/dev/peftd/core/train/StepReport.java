package dev.peftd.core.train;

/**
 * What one optimizer step did.
 *
 * @param step            1-based index of the completed step
 * @param totalSteps      steps the run will take
 * @param epoch           0-based epoch of the step's last micro-batch
 * @param loss            token-mean cross-entropy over the step's micro-batches (before the update)
 * @param tokenAccuracy   share of the step's loss-bearing tokens whose argmax prediction was the target (the same
 *                        forward as {@code loss}, so with dropout when the adapter has it)
 * @param learningRate    the base group's learning rate used for this update (after the schedule)
 * @param gradNorm        global L2 norm of the gradients before clipping
 * @param tokensPerSecond non-padding tokens processed per second of wall time in this step
 * @param stepMillis      wall time of the step
 * @param validation      the evaluation on the validation sample after this step ({@code eval_every}), else
 *                        {@code null}
 */
public record StepReport(int step, int totalSteps, int epoch, double loss, double tokenAccuracy, double learningRate,
                         double gradNorm, double tokensPerSecond, double stepMillis, Evaluation validation) {

    StepReport withValidation(Evaluation evaluation) {
        return new StepReport(step, totalSteps, epoch, loss, tokenAccuracy, learningRate, gradNorm, tokensPerSecond,
                stepMillis, evaluation);
    }
}
