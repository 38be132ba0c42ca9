package dev.peftd.core.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.TrainableTensor;

/**
 * LoRA-FA's gradient projection (PEFT {@code LoraFAOptimizer}, methods.md §1.2): with A frozen, the raw gradient of B
 * is replaced by the least-squares best approximation of the full-weight gradient,
 * {@code g̃_B = (1/s²)·g_B·(A·Aᵀ + 1e-8·I)⁻¹}. Computed in float32 (PEFT runs it under bf16 autocast when the CPU
 * supports bf16, which costs it ~4e-3 relative error; we do not copy that).
 */
final class LoraFaProjection {

    private static final double RIDGE = 1e-8;

    private LoraFaProjection() {
    }

    /** Runs with grad mode off; the results belong to the caller's scope. */
    static NDArray project(NDArray gradB, TrainableTensor.FrozenA frozenA) {
        NDArray a = frozenA.value();                                      // [r, in]
        long r = a.getShape().get(0);
        NDArray gram = a.matMul(a.transpose());                           // [r, r]
        NDArray ridge = gram.getManager().eye((int) r).muli((float) RIDGE).toDevice(a.getDevice(), false);
        NDArray inverse = JniUtils.inverse((PtNDArray) gram.add(ridge)); // [r, r]
        double s = frozenA.scaling();
        return gradB.matMul(inverse).muli((float) (1.0 / (s * s)));      // [out, r]
    }
}
