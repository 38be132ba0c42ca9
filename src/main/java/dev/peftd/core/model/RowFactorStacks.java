package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Each row's own low-rank factors of one product, stacked over the batch's rows: the row's delta is
 * {@code (x·right)·left}. A product over several modules' stacked weights (q/k/v, gate/up) has their factors side by
 * side, the left ones block-diagonal, so each module's columns get their own module's delta. Owned by the hook that
 * made them, for as long as its batch runs.
 *
 * @param right float32 {@code [B, in, ΣK]}
 * @param left  float32 {@code [B, ΣK, Σout]}
 */
public record RowFactorStacks(NDArray right, NDArray left) {

    /**
     * One adapter's factors of a product's modules as stacks of one row, which the batched products broadcast over
     * every row of a batch that is this adapter's alone: the right factors side by side, the left ones
     * block-diagonal.
     *
     * @param factors each module's {@code {left [out, k], right [k, in]}}, in stacking order
     * @param kept    owns the stacks (out of any NDScope)
     */
    public static RowFactorStacks ofOneAdapter(List<NDArray[]> factors, NDManager kept) {
        try (NDManager scratch = kept.newSubManager()) {
            NDList rights = new NDList(factors.size());
            NDList lefts = new NDList(factors.size());
            for (NDArray[] f : factors) {
                rights.add(GatheredFactors.owned(scratch, f[1].expandDims(0)));             // [1, k, in]
                lefts.add(GatheredFactors.owned(scratch, f[0].transpose().expandDims(0))); // [1, k, out]
            }
            NDArray[] stacked = sideBySide(scratch, rights, lefts);
            NDArray rightRows = GatheredFactors.transposedContiguous(scratch, stacked[0]); // [1, in, ΣK]
            return new RowFactorStacks(GatheredFactors.kept(kept, rightRows), GatheredFactors.kept(kept, stacked[1]));
        }
    }

    /**
     * Several modules' factor stacks over the same rows side by side: the right ones concatenated, the left ones
     * block-diagonal (each module's rows of it zero outside its own columns), so one product gives every module's
     * delta in its own columns.
     *
     * @param rights each module's {@code [n, K, in]}, in stacking order
     * @param lefts  each module's {@code [n, K, out]}, in the same order
     * @return {right [n, ΣK, in], left [n, ΣK, Σout] (contiguous)}, owned by {@code scratch}
     */
    static NDArray[] sideBySide(NDManager scratch, List<NDArray> rights, List<NDArray> lefts) {
        long outs = lefts.stream().mapToLong(l -> l.getShape().get(2)).sum(); // Σout
        NDList blocks = new NDList(lefts.size());
        long columns = 0;
        for (NDArray left : lefts) {
            Shape shape = left.getShape();
            NDList row = new NDList(3);
            if (columns > 0) {
                row.add(scratch.zeros(new Shape(shape.get(0), shape.get(1), columns)));
            }
            row.add(left);
            long after = outs - columns - shape.get(2);
            if (after > 0) {
                row.add(scratch.zeros(new Shape(shape.get(0), shape.get(1), after)));
            }
            blocks.add(GatheredFactors.owned(scratch, NDArrays.concat(row, 2))); // [n, K, Σout]
            columns += shape.get(2);
        }
        return new NDArray[] {GatheredFactors.owned(scratch, NDArrays.concat(new NDList(rights), 1)), // [n, ΣK, in]
            GatheredFactors.owned(scratch, NDArrays.concat(blocks, 1))};                            // [n, ΣK, Σout]
    }

    /**
     * Bytes {@link #ofOneAdapter} makes for these factors: the right factors' copy and the block-diagonal left,
     * {@code ΣK·in + ΣK·Σout} floats.
     *
     * @param factors each module's {@code {left [out, k], right [k, in]}}
     */
    public static long oneAdapterBytes(List<NDArray[]> factors) {
        long ranks = factors.stream().mapToLong(f -> f[1].getShape().get(0)).sum();     // ΣK
        long outs = factors.stream().mapToLong(f -> f[0].getShape().get(0)).sum();      // Σout
        return Float.BYTES * ranks * (factors.get(0)[1].getShape().get(1) + outs);
    }
}
