package dev.peftd.core.train.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_} with the L2 norm: measures the global norm and scales gradients in place. */
public final class GradClipping {

    private GradClipping() {
    }

    /**
     * @param maxNorm clip to this global norm; {@code <= 0} or infinite only measures
     * @return the global L2 norm before clipping (what the HF Trainer logs as {@code grad_norm})
     */
    public static double clip(List<NDArray> gradients, double maxNorm) {
        if (gradients.isEmpty()) {
            return 0.0;
        }
        NDList norms = new NDList();
        for (NDArray g : gradients) {
            norms.add(g.norm().reshape(1));                                // [1]
        }
        float total = NDArrays.concat(norms).norm().getFloat();            // norm of the per-tensor norms
        if (maxNorm > 0 && !Double.isInfinite(maxNorm)) {
            // torch: clip_coef = max_norm / (total + 1e-6), clamped to 1, multiplied in even when it is 1.
            float coef = Math.min(1.0f, (float) maxNorm / (total + 1e-6f));
            for (NDArray g : gradients) {
                g.muli(coef);
            }
        }
        return total;
    }
}
