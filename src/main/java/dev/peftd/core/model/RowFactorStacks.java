package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;

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
}
