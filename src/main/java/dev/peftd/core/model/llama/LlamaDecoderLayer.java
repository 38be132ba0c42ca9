package dev.peftd.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.model.CausalAttention;
import dev.peftd.core.model.ForwardKv;
import dev.peftd.core.model.GatedMlp;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.Precision;
import dev.peftd.core.model.RmsNorm;
import dev.peftd.core.model.RotaryEmbedding;
import dev.peftd.core.model.RowFactorStacks;
import dev.peftd.core.tensor.HalfOps;
import java.util.List;

/** One pre-norm Llama block: {@code h + attn(norm(h))}, then {@code h + mlp(norm(h))}. */
final class LlamaDecoderLayer {

    private final int index;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final RmsNorm inputNorm;
    private final LinearLayer qProj;
    private final LinearLayer kProj;
    private final LinearLayer vProj;
    private final LinearLayer oProj;
    private final RmsNorm postAttentionNorm;
    private final GatedMlp mlp;
    private final NDArray attentionScale;
    private final Precision precision;
    private final HalfOps.LlamaBlock fused; // a half model's weights for the two-call block, or null in float32
    private final List<String> modules;     // the seven linears' HF names, which a hook may adapt
    private final List<List<String>> products; // the fused block's products' modules: q/k/v, o, gate/up, down

    /**
     * @param fused the same weights as the layers for {@link HalfOps#attentionInput} and
     *              {@link HalfOps#attentionOutput}, in a half model; {@code null} in float32
     */
    LlamaDecoderLayer(int index, int heads, int kvHeads, int headDim, RmsNorm inputNorm, LinearLayer qProj,
            LinearLayer kProj, LinearLayer vProj, LinearLayer oProj, RmsNorm postAttentionNorm, GatedMlp mlp,
            NDArray attentionScale, Precision precision, HalfOps.LlamaBlock fused) {
        this.precision = precision;
        this.fused = fused;
        this.products = List.of(List.of(qProj.name(), kProj.name(), vProj.name()), List.of(oProj.name()),
                List.of(mlp.gate().name(), mlp.up().name()), List.of(mlp.down().name()));
        this.modules = products.stream().flatMap(List::stream).toList();
        this.index = index;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.inputNorm = inputNorm;
        this.qProj = qProj;
        this.kProj = kProj;
        this.vProj = vProj;
        this.oProj = oProj;
        this.postAttentionNorm = postAttentionNorm;
        this.mlp = mlp;
        this.attentionScale = attentionScale;
    }

    /**
     * @param h     {@code [B, T, hidden]}
     * @param mask  {@code [T, S]} or {@code null}
     * @param cache this batch's cache, or {@code null}
     * @return {@code [B, T, hidden]}
     */
    NDArray forward(NDArray h, RotaryEmbedding.Tables rope, NDArray mask, ForwardKv cache, LinearHook hook) {
        if (fused != null && !JniUtils.isGradMode()) {
            // the same ops in two native calls (plus the attention's) instead of about 25: a decode step of a half
            // SmolLM2-135M spent more time in the calls than in its ops. Not under autograd: a stacked product's
            // backward rounds the input's gradient once where PEFT's separate q/k/v (gate/up) linears round it once
            // each and sum in the half type, so training through a block keeps the op-by-op path
            if (leavesAlone(hook)) {
                NDList qkv = HalfOps.attentionInput(h, fused, rope.cos(), rope.sin()); // q [B, heads, T, headDim], k, v
                return HalfOps.attentionOutput(h, attend(qkv.get(0), qkv.get(1), qkv.get(2), mask, cache), fused);
            }
            List<RowFactorStacks> deltas = hook.rowFactorStacks(products, h); // a batch's rows' own adapters
            if (deltas != null) {
                NDList qkv = HalfOps.attentionInput(h, fused, rope.cos(), rope.sin(), deltas.get(0).right(),
                        deltas.get(0).left());
                return HalfOps.attentionOutput(h, attend(qkv.get(0), qkv.get(1), qkv.get(2), mask, cache), fused,
                        deltas.get(1).right(), deltas.get(1).left(), deltas.get(2).right(), deltas.get(2).left(),
                        deltas.get(3).right(), deltas.get(3).left());
            }
        }
        NDArray attended = selfAttention(inputNorm.forward(h), rope, mask, cache, hook);
        h = precision.add(h, attended);
        return precision.add(h, mlp.forward(postAttentionNorm.forward(h), hook));
    }

    private NDArray selfAttention(NDArray x, RotaryEmbedding.Tables rope, NDArray mask, ForwardKv cache,
            LinearHook hook) {
        NDArray q = precision.rope(heads(qProj.forward(x, hook), heads), rope); // [B, heads, T, headDim]
        NDArray k = precision.rope(heads(kProj.forward(x, hook), kvHeads), rope); // [B, kvHeads, T, headDim]
        NDArray v = heads(vProj.forward(x, hook), kvHeads); // [B, kvHeads, T, headDim]
        return oProj.forward(attend(q, k, v, mask, cache), hook);
    }

    /** @return {@code [B, T, heads·headDim]}, through the cache when there is one */
    private NDArray attend(NDArray q, NDArray k, NDArray v, NDArray mask, ForwardKv cache) {
        return cache == null ? CausalAttention.attend(q, k, v, attentionScale, mask, precision)
                : cache.attend(index, q, k, v, attentionScale, mask, precision);
    }

    /** The products this block asks a hook's row factor stacks for when it runs fused, else none (float32). */
    List<List<String>> fusedProducts() {
        return fused == null ? List.of() : products;
    }

    /** Whether {@code hook} leaves every linear of this layer alone (then the layer may bypass it). */
    private boolean leavesAlone(LinearHook hook) {
        return hook == null || modules.stream().noneMatch(hook::adapts);
    }

    /** {@code [B, T, n·headDim] → [B, n, T, headDim]} */
    private NDArray heads(NDArray x, int n) {
        long batch = x.getShape().get(0);
        long length = x.getShape().get(1);
        return x.reshape(batch, length, n, headDim).transpose(0, 2, 1, 3);
    }
}
