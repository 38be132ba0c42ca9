package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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

    private final NDArray rightRows; // [B, in, ΣK]: a transposed view (or a contiguous copy when put together from pieces)
    private final NDArray leftRows;  // [B, ΣK, Σout]: block-diagonal, contiguous
    private final long[] splits;     // where each module's columns start, after the first
    private final long[] ranks;      // each sibling's K, in call order
    private final int stackedRows;   // rows built from the siblings' stacks rather than sliced from an earlier batch's

    /**
     * @param members each sibling's gathered factors, in call order, over this batch's rows
     * @param pieces  this batch's rows in order: slices of an earlier batch's siblings' stacks of the same ranks, or
     *                fresh rows (their row indices) built from {@code members}' stacks. A decode batch whose rows all
     *                ran in the last step, or were just prefilled, takes a view instead of building again (at the
     *                125M model's 16 rows, building them took ~0.3 ms a block at every change of the batch)
     */
    SiblingFactors(NDManager kept, List<GatheredFactors> members, List<RowRuns.Piece<SiblingFactors, Integer>> pieces) {
        splits = new long[members.size() - 1];
        ranks = ranksOf(members);
        stackedRows = RowRuns.freshRows(pieces);
        long columns = 0;
        for (int m = 0; m < members.size() - 1; m++) {
            columns += members.get(m).leftRows().getShape().get(2);
            splits[m] = columns;
        }
        NDArray[] stacks = GatheredFactors.assembled(kept, pieces, f -> new NDArray[] {f.rightRows, f.leftRows},
                (scratch, fresh) -> {
                    NDIndex rows = NDIndex.sliceAxis(0, fresh.get(0), fresh.get(fresh.size() - 1) + 1);
                    NDArray[] built = RowFactorStacks.sideBySide(scratch,
                            members.stream().map(m -> GatheredFactors.owned(scratch, m.rightStack().get(rows))).toList(),
                            members.stream().map(m -> GatheredFactors.owned(scratch, m.leftRows().get(rows))).toList());
                    return new NDArray[] {GatheredFactors.owned(scratch, built[0].transpose(0, 2, 1)), built[1]};
                });
        this.rightRows = stacks[0]; // [B, in, ΣK]: views of transposed stacks, or a contiguous copy of several pieces
        this.leftRows = stacks[1];  // [B, ΣK, Σout], contiguous
    }

    /** Each member's K, in call order: what an earlier batch's siblings' stacks must match to be sliced. */
    static long[] ranksOf(List<GatheredFactors> members) {
        return members.stream().mapToLong(GatheredFactors::rank).toArray();
    }

    /** Each sibling's K, in call order: an earlier batch's stacks are sliced only at the same ranks. */
    long[] ranks() {
        return ranks.clone();
    }

    /** Rows built from the siblings' stacks (the others were slices of an earlier batch's). */
    int stackedRows() {
        return stackedRows;
    }

    /** The stacks as a fused block reads them: {@code (x·rightRows)·leftRows}. */
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
