package dev.peftd.core.adapter;

import dev.peftd.core.model.LinearHook;
import java.util.List;

/**
 * An adapter attached to a base model: it adds its ΔW to the outputs of the modules it targets (as a
 * {@link LinearHook}) and exposes what the optimizer may train. The training loop ({@code dev.peftd.core.train})
 * sees adapters only through this interface, so the five methods differ in their parametrization and in
 * {@link #afterOptimizerStep}, never in the loop.
 */
public interface Adapter extends LinearHook, AutoCloseable {

    /** Tensors the optimizer updates (requires-gradient set), named with PEFT keys. Frozen tensors are not listed. */
    List<TrainableTensor> trainableTensors();

    /** Switches dropout on (training) or off (evaluation, serving). */
    void setTraining(boolean training);

    /**
     * Runs after every optimizer step, with grad mode off. Delta-LoRA moves the base weight here; the other
     * methods do nothing.
     *
     * @param completedSteps optimizer steps completed so far (1 after the first step)
     */
    default void afterOptimizerStep(int completedSteps) {
    }

    @Override
    void close();
}
