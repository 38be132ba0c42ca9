package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.OwnedArrays;

/**
 * One module's low-rank factors for every adapted group of a {@link GroupedHook}, gathered once per row so that each
 * row multiplies by its own adapter's factors: the deltas of G adapters cost two batched products of rank K (the
 * largest rank) instead of two GEMMs of rank ΣK. A factor of a smaller rank is padded with zero columns, which add
 * exact zeros. The factors are stacked per adapter ({@code [G+1, in, K]}, slot G zeros for the rows of the bare base)
 * and gathered by each row's slot at construction, not per call: the hook lives as long as its groups, and a gather
 * per call cost more than the two products (measured on CPU: 125 µs to gather {@code [64, 64, 8]} rows against
 * 78 µs for the product on them). The price is memory: {@code B·K·(in+out)} floats per module, what the masked
 * path's concatenation holds when every row has its own adapter.
 */
final class GatheredFactors {

    private final NDArray rightRows; // [B, in, K]: each row's adapter's right factor, transposed and padded
    private final NDArray leftRows;  // [B, K, out]: each row's adapter's left factor, transposed and padded

    /**
     * @param lefts  each adapted group's {@code left [out, k]}, in slot order (float32: adapters are, even on a half base)
     * @param rights each adapted group's {@code right [k, in]}, in slot order
     * @param rank   K, the largest k
     * @param slots  each row's slot in {@code [0, G]}; G: the bare base
     */
    GatheredFactors(NDManager kept, NDList lefts, NDList rights, long rank, long[] slots) {
        NDArray like = rights.get(0); // [k, in]
        long in = like.getShape().get(1);
        long out = lefts.get(0).getShape().get(0);
        try (NDManager scratch = kept.newSubManager()) {
            NDArray[] stacks = rights.stream().allMatch(r -> r.getShape().get(0) == rank)
                    ? concatenated(scratch, lefts, rights, rank, in, out)
                    : padded(scratch, lefts, rights, rank, in, out);
            NDArray rightStack = stacks[0]; // [G+1, in, K]
            NDArray leftStack = stacks[1];  // [G+1, K, out]
            NDIndex byRow = new NDIndex("{}", OwnedArrays.of(scratch, slots, new Shape(slots.length), like.getDevice())); // int64 [B]
            this.rightRows = rightStack.get(byRow); // [B, in, K]: advanced indexing on axis 0, a copy
            this.leftRows = leftStack.get(byRow);   // [B, K, out]
            for (NDArray a : new NDArray[] {rightRows, leftRows}) {
                NDScope.unregister(a); // outlive this forward call: reused while the groups stay the same
                a.attach(kept);
            }
        }
    }

    /**
     * One rank: two concatenations (one native call each, whatever G) viewed as stacks; the hook is built for every
     * prefill and every change of the decode batch, so its cost counts.
     *
     * @return {rightStack [G+1, in, K], leftStack [G+1, K, out]}, views of arrays owned by {@code scratch}
     */
    private static NDArray[] concatenated(NDManager scratch, NDList lefts, NDList rights, long rank, long in, long out) {
        NDArray like = rights.get(0); // [K, in]
        NDList r = new NDList(rights);
        r.add(scratch.zeros(new Shape(rank, in), like.getDataType(), like.getDevice())); // [K, in]: the base's slot
        NDList l = new NDList(lefts);
        l.add(scratch.zeros(new Shape(out, rank), like.getDataType(), like.getDevice())); // [out, K]
        NDArray rightCat = NDArrays.concat(r, 0); // [(G+1)·K, in]
        NDArray leftCat = NDArrays.concat(l, 1);  // [out, (G+1)·K]
        rightCat.attach(scratch);
        leftCat.attach(scratch);
        long slots = rights.size() + 1L;
        return new NDArray[] {
            rightCat.reshape(slots, rank, in).transpose(0, 2, 1), // [G+1, in, K]
            leftCat.reshape(out, slots, rank).transpose(1, 2, 0)}; // [G+1, K, out]
    }

    /**
     * Mixed ranks: each factor copied into a zero stack, its missing columns left zero (2G native calls).
     *
     * @return {rightStack [G+1, in, K], leftStack [G+1, K, out]}, owned by {@code scratch}
     */
    private static NDArray[] padded(NDManager scratch, NDList lefts, NDList rights, long rank, long in, long out) {
        NDArray like = rights.get(0); // [k, in]
        NDArray rightStack = scratch.zeros(new Shape(lefts.size() + 1, in, rank), like.getDataType(), like.getDevice()); // [G+1, in, K]
        NDArray leftStack = scratch.zeros(new Shape(lefts.size() + 1, rank, out), like.getDataType(), like.getDevice()); // [G+1, K, out]
        for (int g = 0; g < lefts.size(); g++) {
            long k = rights.get(g).getShape().get(0);
            rightStack.set(new NDIndex("{}, :, :{}", g, k), rights.get(g).transpose()); // [in, k] into [in, K]
            leftStack.set(new NDIndex("{}, :{}, :", g, k), lefts.get(g).transpose());   // [k, out] into [K, out]
        }
        return new NDArray[] {rightStack, leftStack};
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
