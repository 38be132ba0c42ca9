package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;

/**
 * A hook whose change to each adapted module is a low-rank delta, {@code output = base + x·rightᵀ·leftᵀ}. Knowing
 * the factors lets {@link GroupedHook} run many such adapters in one batch with two GEMMs per module instead of two
 * per adapter.
 */
public interface LowRankHook extends LinearHook {

    /** @return {@code {left [out, k], right [k, in]}} (scaling folded in), or {@code null} when not adapted */
    NDArray[] lowRank(String module);

    /**
     * {@code baseOutput + (input·rightᵀ)·leftᵀ} on a module this hook has factors for, as a new array; else
     * {@code baseOutput} itself.
     */
    @Override
    default NDArray apply(String module, NDArray input, NDArray baseOutput) {
        NDArray[] f = lowRank(module);
        return f == null ? baseOutput : baseOutput.add(input.matMul(f[1].transpose()).matMul(f[0].transpose()));
    }

    /**
     * This hook's whole weight for {@code layer}, {@code W + left·right}, when it serves that module through a merged
     * weight (a small module on a float32 base: the hook builds it once, keeps it and counts it in its memory), else
     * {@code null}; {@link GroupedHook} then stacks the rows' merged weights instead of adding factored deltas. It comes
     * as one row of that stack, transposed ({@code [1, in, out]}), so that a stack of any rows is one concatenation:
     * one copy of each row, where stacking {@code [out, in]} weights and transposing the stack copied each row three
     * times, and on a small model those copies were most of a batch change's cost ({@link MergedRows}).
     *
     * @return float32 {@code [1, in, out]}, owned by this hook (best contiguous: it is copied as it lies), or
     *         {@code null}
     */
    default NDArray mergedRow(LinearLayer layer) {
        return null;
    }

    /**
     * A module's merged weight in the layout {@link #mergedRow} hands over, for hooks that build one.
     *
     * @param weight the base's float32 {@code [out, in]}
     * @param left   {@code [out, k]}, as {@code right [k, in]}
     * @return {@code (W + left·right)ᵀ}, float32 {@code [1, in, out]}, contiguous, a new array (its temporaries closed)
     */
    static NDArray mergedRowOf(NDArray weight, NDArray left, NDArray right) {
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        try (NDArray delta = left.matMul(right);           // [out, in]
             NDArray sum = weight.add(delta);              // [out, in]
             NDArray flat = sum.transpose().reshape(-1)) { // [in·out], a copy (a transposed view cannot flatten)
            return flat.reshape(1, in, out);               // [1, in, out], a view of flat's storage
        }
    }

    /**
     * This hook's factors of {@code module} as Java arrays ({@link HostFactors}), when it keeps them for
     * {@link GroupedHook}'s Java deltas (a small module on a float32 CPU base: built once, counted in its memory), else
     * {@code null}; {@link GroupedHook} then takes another path for the module.
     */
    default HostFactors hostFactors(String module) {
        return null;
    }
}
