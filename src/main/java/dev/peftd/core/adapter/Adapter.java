package dev.peftd.core.adapter;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.model.LinearHook;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter attached to a base model: it adds its ΔW to the outputs of the modules it targets (as a
 * {@link LinearHook}) and exposes what the optimizer may train. The training loop ({@code dev.peftd.core.train})
 * sees adapters only through this interface, so the five methods differ in their parametrization and in
 * {@link #afterOptimizerStep}, never in the loop.
 */
public interface Adapter extends LinearHook, AutoCloseable {

    /** Tensors the optimizer updates (requires-gradient set), named with PEFT keys. Frozen tensors are not listed. */
    List<TrainableTensor> trainableTensors();

    /**
     * LoRA+'s {@code η_B / η_A} ({@link LoraPlusConfig#lrRatio()}): the optimizer gives every {@code lora_B} and 1-D
     * tensor this multiple of the learning rate. 0 for the other methods: one parameter group.
     */
    default double loraPlusRatio() {
        return 0;
    }

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

    /**
     * Every tensor needed to restore this adapter exactly in a checkpoint, by unique name: the trainable ones plus
     * frozen state that is not recomputable from the config (e.g. Delta-LoRA's reference factors once taken). The
     * arrays are live: copy them (e.g. write them out) before the next optimizer step.
     */
    default Map<String, NDArray> stateTensors() {
        Map<String, NDArray> state = new LinkedHashMap<>();
        for (TrainableTensor t : trainableTensors()) {
            state.put(t.name(), t.value());
        }
        return state;
    }

    /**
     * Restores what {@link #stateTensors()} returned (values are copied in place; grad mode must be off).
     *
     * @throws IllegalArgumentException naming the tensor when one is missing or has another shape
     */
    default void loadStateTensors(Map<String, NDArray> state) {
        for (Map.Entry<String, NDArray> e : stateTensors().entrySet()) {
            NDArray src = state.get(e.getKey());
            if (src == null) {
                throw new IllegalArgumentException("adapter state: tensor '" + e.getKey() + "' is missing");
            }
            if (!src.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException("adapter state: tensor '" + e.getKey() + "' has shape "
                        + src.getShape() + ", expected " + e.getValue().getShape());
            }
            if (src.getDataType() != e.getValue().getDataType()) {
                throw new IllegalArgumentException("adapter state: tensor '" + e.getKey() + "' is "
                        + src.getDataType() + ", expected " + e.getValue().getDataType());
            }
            e.getValue().set(src.toByteBuffer());
        }
    }

    @Override
    void close();
}
