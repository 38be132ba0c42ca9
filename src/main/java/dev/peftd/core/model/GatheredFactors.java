package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One module's low-rank factors for every row of a {@link GroupedHook}, stacked once per batch composition so that
 * each row multiplies by its own adapter's factors: the deltas of G adapters cost two batched products of rank K (the
 * largest rank) instead of two GEMMs of rank ΣK. A factor of a smaller rank is padded with zero rows/columns, and a
 * row of the bare base gets zero factors; both add exact zeros.
 *
 * <p>The stacks are made at every prefill and at every change of the decode batch, and on a small model making them
 * costs as much as a decode step (stacking 64 rows' factors: about ten times one batched product, and 35 modules
 * have two each), so they are made from what earlier hooks already stacked: a run of rows whose adapters match, in
 * order, a run of an earlier hook's rows (the rows still running from the last decode step, the rows just
 * prefilled) is a slice of that hook's stack, a view; only rows found in no earlier hook are stacked from their
 * adapters' factors, and the pieces are put together by one concatenation per factor. The right factors are stacked
 * as they are held ({@code [k, in]}) and the down-projection reads them through a transposed view, which the batched
 * GEMM takes at the same speed; the left factors are stacked transposed and contiguous ({@code [K, out]} per row):
 * through a transposed view the up-projection took twice as long at 64 rows (measured on CPU, one thread: 40 against
 * 18 µs for {@code [64, 1, 8] × [64, 8, 172]}). The stacks are not gathered per call: a gather per call cost
 * more than the two products (measured on CPU: 125 µs to gather {@code [64, 64, 8]} rows against 78 µs for the
 * product on them). The price is memory: {@code B·K·(in+out)} floats per module, what the masked path's
 * concatenation holds when every row has its own adapter.
 */
final class GatheredFactors {

    private final long rank;
    private final int stackedRows; // rows stacked from their own factors rather than sliced from an earlier hook's
    private final NDArray rightStack; // [B, K, in]: each row's adapter's right factor, padded
    private final NDArray rightRows;  // [B, in, K]: a transposed view of rightStack
    private final NDArray leftRows;   // [B, K, out]: each row's adapter's left factor, padded, transposed, contiguous

    /**
     * @param pieces slices of earlier stacks and fresh rows' {@code {left [out, k], right [k, in]}} ({@code null}: a
     *               bare-base row) in batch order (factors float32: adapters are, even on a half base)
     * @param rank   K, the largest k of the batch's adapters for this module
     * @param in     the module's input width
     * @param out    the module's output width
     */
    GatheredFactors(NDManager kept, List<RowRuns.Piece<GatheredFactors, NDArray[]>> pieces, long rank, long in,
                    long out) {
        this.rank = rank;
        this.stackedRows = RowRuns.freshRows(pieces);
        NDArray[] stacks = assembled(kept, pieces, g -> new NDArray[] {g.rightStack, g.leftRows},
                (scratch, factors) -> stacked(scratch, factors, rank, in, out));
        this.rightStack = stacks[0];                                 // [B, K, in]
        this.leftRows = stacks[1];                                   // [B, K, out]
        this.rightRows = kept(kept, rightStack.transpose(0, 2, 1)); // [B, in, K]
    }

    /**
     * A batch's two stacks put together from its pieces, in row order: a slice's rows are views of the earlier
     * batch's stacks, a fresh run's are built; each stack is one concatenation over the pieces (none for one piece).
     *
     * @param stacksOf an earlier batch's two stacks, rows first
     * @param build    a fresh run's two stacks from its rows, owned by the scratch manager it is given
     * @return the two stacks over the batch's rows, kept in {@code kept}
     */
    static <S, R> NDArray[] assembled(NDManager kept, List<RowRuns.Piece<S, R>> pieces, Function<S, NDArray[]> stacksOf,
            BiFunction<NDManager, List<R>, NDArray[]> build) {
        try (NDManager scratch = kept.newSubManager()) {
            NDList firsts = new NDList(pieces.size());
            NDList seconds = new NDList(pieces.size());
            for (RowRuns.Piece<S, R> piece : pieces) {
                NDArray[] part;
                if (piece instanceof RowRuns.Slice<S, R> slice) {
                    NDIndex rows = NDIndex.sliceAxis(0, slice.from(), slice.to());
                    NDArray[] source = stacksOf.apply(slice.source());
                    part = new NDArray[] {owned(scratch, source[0].get(rows)), owned(scratch, source[1].get(rows))};
                } else {
                    part = build.apply(scratch, ((RowRuns.Fresh<S, R>) piece).rows());
                }
                firsts.add(part[0]);
                seconds.add(part[1]);
            }
            return new NDArray[] {kept(kept, joined(firsts)), kept(kept, joined(seconds))};
        }
    }

    private static NDArray joined(NDList rowParts) {
        return rowParts.size() == 1 ? rowParts.get(0) : NDArrays.concat(rowParts, 0);
    }

    /** K, the rank the stacks are padded to. */
    long rank() {
        return rank;
    }

    /** {@code [B, K, in]}: each row's right factor, padded. */
    NDArray rightStack() {
        return rightStack;
    }

    /** {@code [B, K, out]}: each row's left factor, padded and transposed (contiguous). */
    NDArray leftRows() {
        return leftRows;
    }

    /** The stacks as a product's delta reads them: {@code (x·rightRows)·leftRows}. */
    RowFactorStacks stacks() {
        return new RowFactorStacks(rightRows, leftRows);
    }

    /** Rows stacked from their adapters' factors (the others were slices of earlier stacks). */
    int stackedRows() {
        return stackedRows;
    }

    /** @return {rightStack [n, K, in], leftRows [n, K, out]}, owned by {@code scratch} */
    private static NDArray[] stacked(NDManager scratch, List<NDArray[]> factors, long rank, long in, long out) {
        NDArray zeroRight = null; // [K, in]
        NDArray zeroLeft = null;  // [out, K]
        NDList rights = new NDList(factors.size());
        NDList lefts = new NDList(factors.size());
        for (NDArray[] f : factors) {
            if (f == null) {
                if (zeroRight == null) {
                    zeroRight = scratch.zeros(new Shape(rank, in));
                    zeroLeft = scratch.zeros(new Shape(out, rank));
                }
                rights.add(zeroRight);
                lefts.add(zeroLeft);
            } else if (f[1].getShape().get(0) < rank) {
                long missing = rank - f[1].getShape().get(0);
                rights.add(owned(scratch, f[1].concat(scratch.zeros(new Shape(missing, in)), 0))); // [K, in]
                lefts.add(owned(scratch, f[0].concat(scratch.zeros(new Shape(out, missing)), 1))); // [out, K]
            } else {
                rights.add(f[1]);
                lefts.add(f[0]);
            }
        }
        return new NDArray[] {owned(scratch, NDArrays.stack(rights)),
            transposedContiguous(scratch, owned(scratch, NDArrays.stack(lefts)))};
    }

    /**
     * @param stacked {@code [n, a, b]}
     * @return {@code [n, b, a]}, contiguous (DJL has no {@code contiguous()}: a flattening reshape of the transposed
     *         view copies), owned by {@code scratch}; four native calls whatever {@code n}, not one transpose per row
     */
    static NDArray transposedContiguous(NDManager scratch, NDArray stacked) {
        Shape shape = stacked.getShape();
        NDArray flat = owned(scratch, owned(scratch, stacked.transpose(0, 2, 1)).reshape(-1)); // a copy
        return owned(scratch, flat.reshape(shape.get(0), shape.get(2), shape.get(1)));
    }

    /** {@code a}, moved into {@code manager}. */
    static NDArray owned(NDManager manager, NDArray a) {
        a.attach(manager);
        return a;
    }

    /** Out of the forward call's scope and into {@code kept}: reused while the groups stay the same. */
    static NDArray kept(NDManager kept, NDArray a) {
        NDScope.unregister(a);
        a.attach(kept);
        return a;
    }

    /**
     * @param input      {@code [B, T, in]}
     * @param baseOutput {@code [B, T, out]}
     * @return {@code [B, T, out]}, a new array (a half base's output may not be written in place)
     */
    NDArray apply(NDArray input, NDArray baseOutput) {
        NDArray down = input.matMul(rightRows); // [B, T, K]
        NDArray up = down.matMul(leftRows);     // [B, T, out]
        return baseOutput.add(up);
    }
}
