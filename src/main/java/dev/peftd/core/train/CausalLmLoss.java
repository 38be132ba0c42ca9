package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;

/**
 * Next-token cross-entropy, composed from {@code logSoftmax} and {@code gather} (DJL has no cross_entropy). Returns
 * the <em>sum</em> over weighted positions; the caller divides by the number of loss tokens of the whole
 * accumulation window, which makes the step loss the token mean HF computes with labels -100.
 */
final class CausalLmLoss {

    private CausalLmLoss() {
    }

    /**
     * Autograd-safe: no Java numbers enter the graph (djl-notes pitfall 1).
     *
     * @param logits  float32 {@code [B, T, V]}
     * @param targets int64 {@code [B, T]}, already shifted (token t+1 for position t)
     * @param weights float32 {@code [B, T]}, 1 where the position counts
     * @return float32 scalar: Σ −log p(target) over positions with weight 1
     */
    static NDArray summedNll(NDArray logits, NDArray targets, NDArray weights) {
        NDArray logProbs = logits.logSoftmax(-1);                                        // [B, T, V]
        NDArray picked = logProbs.gather(targets.expandDims(-1), -1)                     // [B, T, 1]
                .reshape(targets.getShape());                                            // [B, T]
        return picked.mul(weights).sum().neg();                                          // []
    }
}
