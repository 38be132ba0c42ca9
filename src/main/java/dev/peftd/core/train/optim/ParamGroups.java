package dev.peftd.core.train.optim;

import dev.peftd.core.adapter.TrainableTensor;
import java.util.ArrayList;
import java.util.List;

/** How the training methods split an adapter's tensors into optimizer groups. */
public final class ParamGroups {

    private ParamGroups() {
    }

    /** LoRA, LoRA-FA, VeRA, Delta-LoRA: one group at the base learning rate. */
    public static List<ParamGroup> single(List<TrainableTensor> tensors, double lr, double weightDecay) {
        return List.of(new ParamGroup("all", tensors, lr, weightDecay));
    }

    /**
     * LoRA+ (methods.md §1.5, PEFT {@code create_loraplus_optimizer}): every {@code lora_B} and every 1-D tensor trains
     * at {@code ratio·lr}, the rest (lora_A) at {@code lr}. Unlike PEFT, which silently replaces the weight decay by
     * {@code loraplus_weight_decay = 0}, the given weight decay applies to both groups.
     */
    public static List<ParamGroup> loraPlus(List<TrainableTensor> tensors, double lr, double ratio, double weightDecay) {
        if (!(ratio > 0) || Double.isInfinite(ratio)) {
            throw new IllegalArgumentException("loraplus_lr_ratio: must be a finite number > 0, got " + ratio);
        }
        List<TrainableTensor> a = new ArrayList<>();
        List<TrainableTensor> b = new ArrayList<>();
        for (TrainableTensor t : tensors) {
            boolean fast = t.role() == TrainableTensor.Role.LORA_B || t.value().getShape().dimension() == 1;
            (fast ? b : a).add(t);
        }
        return List.of(new ParamGroup("lora_A", a, lr, weightDecay), new ParamGroup("lora_B", b, lr * ratio, weightDecay));
    }
}
