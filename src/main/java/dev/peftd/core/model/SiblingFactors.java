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
 * five of its seven adapted modules. Each row's right factors are concatenated ({@code [ΣK, in]}) and its left factors
 * placed block-diagonally ({@code [Σout, ΣK]}); the off-diagonal blocks are zeros, so each module's delta is what its
 * own factors give.
 */
final class SiblingFactors {

    private final NDArray rightRows; // [B, in, ΣK]: a transposed view
    private final NDArray leftRows;  // [B, ΣK, Σout]: a transposed view of the block-diagonal [B, Σout, ΣK]
    private final long[] splits;     // where each module's columns start, after the first

    /** @param members each sibling's gathered factors, in call order, over the same rows */
    SiblingFactors(NDManager kept, List<GatheredFactors> members) {
        long total = members.stream().mapToLong(GatheredFactors::rank).sum(); // ΣK
        splits = new long[members.size() - 1];
        try (NDManager scratch = kept.newSubManager()) {
            NDList rights = new NDList(members.size());
            NDList blocks = new NDList(members.size());
            long offset = 0;
            long columns = 0;
            for (int m = 0; m < members.size(); m++) {
                GatheredFactors member = members.get(m);
                rights.add(member.rightStack());     // [B, K, in]
                NDArray left = member.leftStack();    // [B, out, K]
                Shape shape = left.getShape();
                NDList row = new NDList(3);
                if (offset > 0) {
                    row.add(scratch.zeros(new Shape(shape.get(0), shape.get(1), offset)));
                }
                row.add(left);
                long after = total - offset - shape.get(2);
                if (after > 0) {
                    row.add(scratch.zeros(new Shape(shape.get(0), shape.get(1), after)));
                }
                blocks.add(GatheredFactors.owned(scratch, NDArrays.concat(row, 2))); // [B, out, ΣK]
                offset += shape.get(2);
                if (m > 0) {
                    splits[m - 1] = columns;
                }
                columns += shape.get(1);
            }
            NDArray right = GatheredFactors.owned(scratch, NDArrays.concat(rights, 1)); // [B, ΣK, in]
            NDArray left = GatheredFactors.owned(scratch, NDArrays.concat(blocks, 1));  // [B, Σout, ΣK]
            this.rightRows = GatheredFactors.kept(kept, right.transpose(0, 2, 1));      // [B, in, ΣK]
            this.leftRows = GatheredFactors.kept(kept, left.transpose(0, 2, 1));        // [B, ΣK, Σout]
        }
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
