package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.List;

/**
 * One small module's whole weight for every row of a {@link GroupedHook}: each row's adapter's merged weight
 * {@code W + left·right} (the adapter builds and keeps it, {@link LowRankHook#mergedRow}), or {@code W} itself for
 * a row the module's adapter leaves alone (a bare-base row), stacked once per batch composition. The module's output
 * is then one batched product, {@code [B, T, in] × [B, in, out]}: the call count of the base's own GEMM, where the
 * shared base GEMM plus the gathered factors' two batched products and an add cost four. On a model of hidden size 64
 * a decode step is bound by its count of native calls, not by FLOPs or bytes; the stacks are the price,
 * {@code B·in·out} floats per module, which is why {@link GroupedHook} takes this path only for small weights.
 *
 * <p>Like {@link GatheredFactors}, a run of rows that an earlier hook stacked in the same order is a slice of its
 * stack (a view) and only the other rows are stacked from their weights. The rows are stacked transposed
 * ({@code [in, out]}, contiguous), the layout the batched product reads fastest, and each hook keeps its merged weight
 * in that layout ({@link LowRankHook#mergedRow}), so a new stack is one concatenation of slices and rows: one copy of
 * every row. Stacking {@code [out, in]} weights, transposing and concatenating copied a fresh row three times, and a
 * batch change at 16 rows of stories260K (35 stacks, 15 MB) cost about three decode steps.
 */
final class MergedRows {

    private final int stackedRows; // rows stacked from their own weights rather than sliced from an earlier hook's
    private final NDArray stack;   // [B, in, out]: each row's (W + left·right)ᵀ, or Wᵀ

    /**
     * @param pieces slices of earlier stacks and fresh rows' float32 weights as stack rows {@code [1, in, out]}
     *               ({@link LowRankHook#mergedRow}), in batch order
     */
    MergedRows(NDManager kept, List<RowRuns.Piece<MergedRows, NDArray>> pieces) {
        this.stackedRows = RowRuns.freshRows(pieces);
        try (NDManager scratch = kept.newSubManager()) {
            NDList parts = new NDList(pieces.size());
            for (RowRuns.Piece<MergedRows, NDArray> piece : pieces) {
                if (piece instanceof RowRuns.Slice<MergedRows, NDArray> s) {
                    NDIndex rows = NDIndex.sliceAxis(0, s.from(), s.to());
                    parts.add(GatheredFactors.owned(scratch, s.source().stack.get(rows))); // [n, in, out], a view
                } else if (piece instanceof RowRuns.Fresh<MergedRows, NDArray> fresh) {
                    parts.addAll(fresh.rows()); // each [1, in, out], the hook's own: copied by the concatenation
                }
            }
            // one slice is taken as it is (a view); anything else is one concatenation, one copy of every row
            boolean view = pieces.size() == 1 && pieces.get(0) instanceof RowRuns.Slice;
            this.stack = GatheredFactors.kept(kept, view ? parts.get(0) : NDArrays.concat(parts, 0)); // [B, in, out]
        }
    }

    /** Rows stacked from their weights (the others were slices of earlier stacks). */
    int stackedRows() {
        return stackedRows;
    }

    /**
     * @param input {@code [B, T, in]}
     * @param bias  the base's {@code [out]}, or {@code null}
     * @return {@code [B, T, out]}, each row through its own weight
     */
    NDArray output(NDArray input, NDArray bias) {
        NDArray out = input.matMul(stack); // [B, T, out]
        return bias == null ? out : out.addi(bias);
    }
}
