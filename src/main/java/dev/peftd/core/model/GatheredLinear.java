package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.OwnedArrays;
import java.util.List;

/**
 * A float32 linear layer, or sibling layers that share their input (q/k/v, gate/up: {@link SiblingModules}) and a
 * rank, whose whole output for every row of a {@link GroupedHook} is one native call ({@link FusedOps#loraRows}): the
 * shared base GEMM, one batched down-projection over each row's gathered right factors, one batched up-projection per
 * layer and the split into layers. Composed of DJL calls that is a GEMM, two products and an add per layer; on a model
 * of hidden size 64 a decode step is bound by its count of native calls, and a family in one call makes fewer than
 * the base's own GEMM per layer. Unlike the merged rows ({@link MergedRows}) each row reads only its factors,
 * {@code K·(in + out)} floats per layer, not a whole weight; the layers' left factors lie side by side (not
 * block-diagonally, as {@link SiblingFactors} has them for a half base), so no zeros are read either.
 */
final class GatheredLinear {

    private final List<String> modules; // the layers' names, in call order
    private final NDArray weight; // [Σout, in]: the layers' base weights, side by side (the layer's own for one)
    private final NDArray bias;   // [Σout], or null
    private final NDArray right;  // [B, in, n·K]: each row's right factors side by side, transposed (a view)
    private final NDArray left;   // [B, K, Σout]: each row's left factors side by side
    private final NDArray sizes;  // int64 [n]: each layer's out

    /** One layer, with its rows' factors. */
    GatheredLinear(NDManager kept, LinearLayer layer, GatheredFactors factors) {
        this.modules = List.of(layer.name());
        this.weight = layer.weight();
        this.bias = layer.bias();
        this.right = factors.rightRows();
        this.left = factors.leftRows();
        this.sizes = sizes(kept, List.of(layer));
    }

    /**
     * Sibling layers in call order, with their rows' factors, all of one rank; the base weights and the factors are
     * put side by side.
     */
    GatheredLinear(NDManager kept, List<LinearLayer> layers, List<GatheredFactors> factors) {
        this.modules = layers.stream().map(LinearLayer::name).toList();
        NDList weights = new NDList(layers.size());
        NDList biases = new NDList(layers.size());
        NDList rights = new NDList(layers.size());
        NDList lefts = new NDList(layers.size());
        boolean biased = layers.stream().anyMatch(LinearLayer::hasBias);
        try (NDManager scratch = kept.newSubManager()) {
            for (int i = 0; i < layers.size(); i++) {
                LinearLayer layer = layers.get(i);
                weights.add(layer.weight()); // [out, in]
                if (biased) {
                    biases.add(layer.hasBias() ? layer.bias()
                            : scratch.zeros(new Shape(layer.outFeatures()))); // [out]: a layer without adds zeros
                }
                rights.add(factors.get(i).rightStack()); // [B, K, in]
                lefts.add(factors.get(i).leftRows());    // [B, K, out]
            }
            this.weight = GatheredFactors.kept(kept, NDArrays.concat(weights, 0));              // [Σout, in]
            this.bias = biased ? GatheredFactors.kept(kept, NDArrays.concat(biases, 0)) : null; // [Σout]
            NDArray right = GatheredFactors.owned(scratch, NDArrays.concat(rights, 1));         // [B, n·K, in]
            this.right = GatheredFactors.kept(kept, right.transpose(0, 2, 1));                 // [B, in, n·K], a view
            this.left = GatheredFactors.kept(kept, NDArrays.concat(lefts, 2));                  // [B, K, Σout]
        }
        this.sizes = sizes(kept, layers);
    }

    private static NDArray sizes(NDManager kept, List<LinearLayer> layers) {
        long[] outs = layers.stream().mapToLong(LinearLayer::outFeatures).toArray();
        return GatheredFactors.kept(kept, OwnedArrays.of(kept, outs, new Shape(outs.length),
                layers.get(0).device())); // int64 [n]
    }

    /** The layers' names, in the order of {@link #outputs}. */
    List<String> modules() {
        return modules;
    }

    /**
     * @param input {@code [B, T, in]}
     * @return each layer's output {@code [B, T, out]}, in order: its base output plus each row's own delta
     */
    NDList outputs(NDArray input) {
        return FusedOps.loraRows(input, weight, bias, right, left, sizes);
    }
}
