package dev.peftd.core.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.peftd.core.model.CausalAttention;
import dev.peftd.core.model.ForwardKv;
import dev.peftd.core.model.LayerNorm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.Precision;

/** One GPT-2 block: {@code h + c_proj(attn(c_attn(ln_1(h))))}, then {@code h + mlp(ln_2(h))}. */
final class Gpt2Block {

    private final int index;
    private final int heads;
    private final LayerNorm ln1;
    private final LinearLayer cAttn;
    private final LinearLayer attnProj;
    private final LayerNorm ln2;
    private final LinearLayer cFc;
    private final LinearLayer mlpProj;
    private final Gpt2Activation activation;
    private final NDArray attentionScale;
    private final Precision precision;

    Gpt2Block(int index, int heads, LayerNorm ln1, LinearLayer cAttn, LinearLayer attnProj, LayerNorm ln2,
            LinearLayer cFc, LinearLayer mlpProj, Gpt2Activation activation, NDArray attentionScale,
            Precision precision) {
        this.index = index;
        this.heads = heads;
        this.ln1 = ln1;
        this.cAttn = cAttn;
        this.attnProj = attnProj;
        this.ln2 = ln2;
        this.cFc = cFc;
        this.mlpProj = mlpProj;
        this.activation = activation;
        this.attentionScale = attentionScale;
        this.precision = precision;
    }

    /** @param h {@code [B, T, hidden]} → {@code [B, T, hidden]} */
    NDArray forward(NDArray h, NDArray mask, ForwardKv cache, LinearHook hook) {
        h = precision.add(h, attention(ln1.forward(h), mask, cache, hook));
        NDArray inner = activation.apply(cFc.forward(ln2.forward(h), hook)); // [B, T, 4·hidden]
        return precision.add(h, mlpProj.forward(inner, hook));
    }

    private NDArray attention(NDArray x, NDArray mask, ForwardKv cache, LinearHook hook) {
        NDList qkv = cAttn.forward(x, hook).split(3, 2); // 3 × [B, T, hidden]
        NDArray q = heads(qkv.get(0)); // [B, heads, T, headDim]
        NDArray k = heads(qkv.get(1));
        NDArray v = heads(qkv.get(2));
        NDArray context = cache == null ? CausalAttention.attend(q, k, v, attentionScale, mask, precision)
                : cache.attend(index, q, k, v, attentionScale, mask, precision); // [B, T, hidden]
        return attnProj.forward(context, hook);
    }

    /** {@code [B, T, hidden] → [B, heads, T, headDim]} */
    private NDArray heads(NDArray x) {
        long batch = x.getShape().get(0);
        long length = x.getShape().get(1);
        return x.reshape(batch, length, heads, -1).transpose(0, 2, 1, 3);
    }
}
