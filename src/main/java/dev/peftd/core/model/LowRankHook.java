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
}
