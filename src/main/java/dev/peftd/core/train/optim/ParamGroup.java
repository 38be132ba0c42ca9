package dev.peftd.core.train.optim;

import dev.peftd.core.adapter.TrainableTensor;
import java.util.List;

/**
 * Tensors that share a base learning rate and a decoupled weight decay, like one entry of torch's
 * {@code optimizer.param_groups}. The schedule multiplies {@code lr}; {@code weightDecay} is not scheduled.
 */
public record ParamGroup(String name, List<TrainableTensor> tensors, double lr, double weightDecay) {

    public ParamGroup {
        tensors = List.copyOf(tensors);
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("lr: must be a finite number >= 0, got " + lr + " (group " + name + ")");
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight_decay: must be a finite number >= 0, got " + weightDecay);
        }
    }
}
