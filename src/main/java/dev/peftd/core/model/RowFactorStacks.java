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
        long outs = factors.stream().mapToLong(f -> f[0].getShape().get(0)).sum(); // Σout
        try (NDManager scratch = kept.newSubManager()) {
            NDList rights = new NDList(factors.size());
            NDList blocks = new NDList(factors.size());
            long columns = 0;
            for (NDArray[] f : factors) {
                long out = f[0].getShape().get(0);
                long rank = f[0].getShape().get(1);
                rights.add(f[1]);                                     // [k, in]
                NDList row = new NDList(3);
                if (columns > 0) {
                    row.add(scratch.zeros(new Shape(rank, columns)));
                }
                row.add(f[0].transpose());                            // [k, out]
                if (outs - columns - out > 0) {
                    row.add(scratch.zeros(new Shape(rank, outs - columns - out)));
                }
                blocks.add(GatheredFactors.owned(scratch, NDArrays.concat(row, 1))); // [k, Σout]
                columns += out;
            }
            NDArray right = GatheredFactors.owned(scratch, NDArrays.concat(rights, 0)); // [ΣK, in]
            NDArray rightRows = GatheredFactors.transposedContiguous(scratch,
                    GatheredFactors.owned(scratch, right.expandDims(0)));                  // [1, in, ΣK]
            NDArray leftRows = GatheredFactors.owned(scratch, NDArrays.concat(blocks, 0).expandDims(0)); // [1, ΣK, Σout]
            return new RowFactorStacks(GatheredFactors.kept(kept, rightRows), GatheredFactors.kept(kept, leftRows));
        }
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
