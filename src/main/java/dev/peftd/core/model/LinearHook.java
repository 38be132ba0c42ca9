package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Lets an adapter change what a named linear layer outputs, without touching the shared base weights.
 * The model calls it after computing the base output of every linear layer (see {@link CausalLm#linears()}).
 *
 * <p>It runs inside the forward call's {@link ai.djl.ndarray.NDScope}: arrays it creates are freed when the forward
 * call returns (autograd keeps what backward needs), unless it takes them out with {@code NDScope.unregister}. It
 * may be called from several threads at once when one model serves several requests.
 */
@FunctionalInterface
public interface LinearHook {

    /**
     * @param module     HF module name of the linear layer
     * @param input      the layer's input {@code [..., in]}
     * @param baseOutput {@code x·Wᵀ + b}, shape {@code [..., out]}
     * @return the output to use, shape {@code [..., out]}: {@code baseOutput} itself when this module is not adapted
     */
    NDArray apply(String module, NDArray input, NDArray baseOutput);

    /**
     * The whole output of {@code layer} for {@code input}: by default its base output handed to {@link #apply}. An
     * adapter that computes the output another way (e.g. through a merged weight) overrides this.
     *
     * @param input {@code [..., in]}
     * @return {@code [..., out]}
     */
    default NDArray output(LinearLayer layer, NDArray input) {
        return apply(layer.name(), input, layer.baseOutput(input));
    }

    /**
     * Whether this hook may change {@code module}'s output; callers that bypass the hook for a module it leaves
     * alone (the training loss's output head) ask first. Unknown hooks say yes.
     */
    default boolean adapts(String module) {
        return true;
    }

    /**
     * Each row's factors for each of a block's products, when this hook's every change to them is a low-rank delta it
     * can hand over as stacks: a half block then adds the deltas inside its fused calls ({@code HalfOps}) instead of
     * running op by op. {@code null} (the default) keeps the op-by-op path, which calls {@link #output} per linear.
     *
     * @param products each product's modules in the order their weights are stacked (q/k/v, o, gate/up, down)
     * @param like     the block's input {@code [B, T, hidden]}
     * @return one {@link RowFactorStacks} per product, in order, or {@code null}
     */
    default List<RowFactorStacks> rowFactorStacks(List<List<String>> products, NDArray like) {
        return null;
    }
}
