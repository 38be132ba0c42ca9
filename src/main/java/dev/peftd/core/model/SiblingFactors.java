package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * The gathered factors of sibling modules (modules the model calls on one input, {@link SiblingModules}) side by
 * side, so that all their deltas cost two batched products and a split instead of two products each: on a small
 * model a decode step is bound by its count of native calls, and a Llama block's q/k/v and gate/up projections are
 * five of its seven adapted modules. Each row's right factors are concatenated ({@code [ΣK, in]}) and its transposed
 * left factors placed block-diagonally ({@code [ΣK, Σout]}); the off-diagonal blocks are zeros, so each module's delta
 * is what its own factors give.
 */
final class SiblingFactors {

    private final NDArray rightRows; // [B, in, ΣK]: a transposed view
    private final NDArray leftRows;  // [B, ΣK, Σout]: block-diagonal, contiguous
    private final long[] splits;     // where each module's columns start, after the first

    /** @param members each sibling's gathered factors, in call order, over the same rows */
    SiblingFactors(NDManager kept, List<GatheredFactors> members) {
        long outs = members.stream().mapToLong(m -> m.leftRows().getShape().get(2)).sum(); // Σout
        splits = new long[members.size() - 1];
        try (NDManager scratch = kept.newSubManager()) {
            NDList rights = new NDList(members.size());
            NDList blocks = new NDList(members.size());
            long columns = 0;
            for (int m = 0; m < members.size(); m++) {
                GatheredFactors member = members.get(m);
                rights.add(member.rightStack());     // [B, K, in]
                NDArray left = member.leftRows();     // [B, K, out]
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
                blocks.add(GatheredFactors.owned(scratch, NDArrays.concat(row, 2))); // [B, K, Σout]
                if (m > 0) {
                    splits[m - 1] = columns;
                }
                columns += shape.get(2);
            }
            NDArray right = GatheredFactors.owned(scratch, NDArrays.concat(rights, 1)); // [B, ΣK, in]
            this.rightRows = GatheredFactors.kept(kept, right.transpose(0, 2, 1));      // [B, in, ΣK]
            this.leftRows = GatheredFactors.kept(kept, NDArrays.concat(blocks, 1));     // [B, ΣK, Σout], contiguous
        }
    }

    /** The stacks as the siblings' stacked product's delta reads them: {@code (x·rightRows)·leftRows}. */
    RowFactorStacks stacks() {
        return new RowFactorStacks(rightRows, leftRows);
    }

    /**
     * @param input {@code [B, T, in]}
     * @return each sibling's delta {@code [B, T, out]}, in call order (views of one {@code [B, T, Σout]})
     */
    NDList deltas(NDArray input) {
        NDArray up = input.matMul(rightRows).matMul(leftRows); // [B, T, ΣK] → [B, T, Σout]
        return up.split(splits, 2);
    }
}
