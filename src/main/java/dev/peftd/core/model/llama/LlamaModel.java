package dev.peftd.core.model.llama;

import static dev.peftd.core.model.CheckpointTensors.dimension;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.SparseFormat;
import dev.peftd.core.model.CheckpointTensors;
import dev.peftd.core.model.DecoderOnlyModel;
import dev.peftd.core.model.ForwardKv;
import dev.peftd.core.model.ForwardScope;
import dev.peftd.core.model.GatedMlp;
import dev.peftd.core.model.LayerBoundary;
import dev.peftd.core.model.Linear;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelInputs;
import dev.peftd.core.model.Precision;
import dev.peftd.core.model.RmsNorm;
import dev.peftd.core.model.RotaryEmbedding;
import dev.peftd.core.model.RowPositions;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.ScalarConstants;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-style decoder: token embedding, pre-norm blocks of rotary GQA attention and SwiGLU MLP, final RMSNorm,
 * output head. Serves {@code LlamaForCausalLM}, {@code MistralForCausalLM} and (with q/k/v biases)
 * {@code Qwen2ForCausalLM}; HF module names are the same in all three.
 */
public final class LlamaModel extends DecoderOnlyModel {

    private final NDArray embedTokens;
    private final HalfTensor halfEmbedTokens;
    private final List<LlamaDecoderLayer> layers;
    private final RmsNorm norm;
    private final RotaryEmbedding rotary;

    private LlamaModel(ModelConfig config, NDManager manager, Embedding embedding, List<LlamaDecoderLayer> layers,
            RmsNorm norm, LinearLayer lmHead, Map<String, Linear> linears) {
        super(config, manager, lmHead, linears);
        this.embedTokens = embedding.float32();
        this.halfEmbedTokens = embedding.half();
        this.layers = layers;
        this.norm = norm;
        this.rotary = new RotaryEmbedding(config.rope(), config.headDim());
    }

    /** The token table in whichever type the model holds its weights. */
    private record Embedding(NDArray float32, HalfTensor half) {
    }

    /**
     * Loads the weights under their HF keys ({@code model.layers.N.self_attn.q_proj.weight}, …), as float32 or, when
     * {@code w} holds a half type, every floating tensor in it (norm weights and biases too, as transformers does).
     */
    public static LlamaModel load(ModelConfig c, CheckpointTensors w) throws IOException {
        Precision precision = w.precision();
        boolean half = precision.half() != null;
        ScalarConstants scalars = new ScalarConstants(w.manager());
        NDArray eps = scalars.of(c.normEps());
        NDArray attentionScale = scalars.of(1.0 / Math.sqrt(c.headDim()));
        Map<String, Linear> linears = new LinkedHashMap<>();
        long hidden = c.hiddenSize();
        long qWidth = (long) c.numHeads() * c.headDim();
        long kvWidth = (long) c.numKvHeads() * c.headDim();
        CheckpointTensors.ConfigDimension[] embedShape =
                {dimension("vocab_size", c.vocabSize()), dimension("hidden_size", hidden)}; // [vocab, hidden]
        Embedding embed = half ? new Embedding(null, w.getHalf("model.embed_tokens.weight", embedShape))
                : new Embedding(w.get("model.embed_tokens.weight", embedShape), null);
        NDArray headDims = half ? kept(w.manager().create(new long[] {c.numHeads(), c.numKvHeads(), c.headDim()}))
                : null; // int64 [heads, kvHeads, headDim], what the fused half blocks split heads by
        List<LlamaDecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            Stack qkv = stack(w, linears, List.of(p + "self_attn.q_proj", p + "self_attn.k_proj",
                    p + "self_attn.v_proj"), new long[] {qWidth, kvWidth, kvWidth}, hidden, c.attentionBias());
            LinearLayer o = linear(w, linears, p + "self_attn.o_proj", hidden, qWidth, c.outputBias());
            Stack gateUp = stack(w, linears, List.of(p + "mlp.gate_proj", p + "mlp.up_proj"),
                    new long[] {c.intermediateSize(), c.intermediateSize()}, hidden, c.mlpBias());
            LinearLayer down = linear(w, linears, p + "mlp.down_proj", hidden, c.intermediateSize(), c.mlpBias());
            RmsNorm inputNorm = norm(w, p + "input_layernorm.weight", hidden, eps);
            RmsNorm postAttentionNorm = norm(w, p + "post_attention_layernorm.weight", hidden, eps);
            HalfOps.LlamaBlock fused = half ? new HalfOps.LlamaBlock(inputNorm.half(), qkv.whole(), o.half(),
                    postAttentionNorm.half(), gateUp.whole(), down.half(), eps, headDims) : null;
            GatedMlp mlp = new GatedMlp(gateUp.layers().get(0), gateUp.layers().get(1), down, precision);
            layers.add(new LlamaDecoderLayer(i, c.numHeads(), c.numKvHeads(), c.headDim(), inputNorm,
                    qkv.layers().get(0), qkv.layers().get(1), qkv.layers().get(2), o, postAttentionNorm, mlp,
                    attentionScale, precision, fused));
        }
        RmsNorm norm = norm(w, "model.norm.weight", hidden, eps);
        LinearLayer lmHead = outputHead(w, c, embed.float32(), embed.half());
        linears.put(lmHead.name(), lmHead);
        return new LlamaModel(c, w.manager(), embed, List.copyOf(layers), norm, lmHead,
                Collections.unmodifiableMap(linears));
    }

    /** An array the model keeps for its lifetime (its manager frees it), out of any scope open while loading. */
    private static NDArray kept(NDArray array) {
        NDScope.unregister(array);
        return array;
    }

    private static RmsNorm norm(CheckpointTensors w, String key, long hidden, NDArray eps) throws IOException {
        return w.precision().half() != null ? new RmsNorm(w.getHalf(key, hidden), eps) : new RmsNorm(w.get(key, hidden), eps);
    }

    /**
     * Linears that share an input: in a half model loaded stacked into one weight (and bias), {@code whole}, which the
     * fused block runs as one product, each layer's own weight a view of its rows; in float32 one by one, no whole.
     */
    private record Stack(HalfOps.Linear whole, List<LinearLayer> layers) {
    }

    private static Stack stack(CheckpointTensors w, Map<String, Linear> linears, List<String> names, long[] outs,
            long in, boolean bias) throws IOException {
        List<LinearLayer> layers = new ArrayList<>();
        if (w.precision().half() == null) {
            for (int i = 0; i < names.size(); i++) {
                layers.add(linear(w, linears, names.get(i), outs[i], in, bias));
            }
            return new Stack(null, layers);
        }
        HalfTensor weight = w.getHalfRows(names.stream().map(n -> n + ".weight").toList(),
                Arrays.stream(outs).mapToObj(out -> new long[] {out, in}).toList()); // [Σ outs, in]
        HalfTensor biases = bias ? w.getHalfRows(names.stream().map(n -> n + ".bias").toList(),
                Arrays.stream(outs).mapToObj(out -> new long[] {out}).toList()) : null; // [Σ outs]
        long from = 0;
        for (int i = 0; i < names.size(); i++) {
            LinearLayer layer = new LinearLayer(names.get(i), HalfOps.rows(weight, from, outs[i]),
                    bias ? HalfOps.rows(biases, from, outs[i]) : null);
            linears.put(layer.name(), layer);
            layers.add(layer);
            from += outs[i];
        }
        return new Stack(new HalfOps.Linear(weight, biases), List.copyOf(layers));
    }

    private static LinearLayer linear(CheckpointTensors w, Map<String, Linear> linears, String name, long out, long in,
            boolean bias) throws IOException {
        LinearLayer layer = w.precision().half() != null
                ? new LinearLayer(name, w.getHalf(name + ".weight", out, in), bias ? w.getHalf(name + ".bias", out) : null)
                : new LinearLayer(name, w.get(name + ".weight", out, in), bias ? w.get(name + ".bias", out) : null);
        linears.put(name, layer);
        return layer;
    }

    @Override
    protected NDArray hidden(NDArray inputIds, ForwardKv cache, LinearHook hook,
            LayerBoundary boundary) {
        return ForwardScope.run(() -> {
            NDArray ids = ModelInputs.checkedIds(inputIds, config().vocabSize(),
                    halfEmbedTokens != null ? halfEmbedTokens.device() : embedTokens.getDevice()); // [B, T]
            int length = (int) ids.getShape().get(1);
            RowPositions positions = cache == null ? RowPositions.uniform(0, ids.getShape().get(0), length)
                    : cache.positions(ids.getShape().get(0), length);
            if (config().slidingWindow() > 0 && positions.end() > config().slidingWindow()) {
                throw new IllegalArgumentException("sequence of " + positions.end() + " positions exceeds the sliding"
                        + " window of " + config().slidingWindow() + ", which peftd does not implement");
            }
            NDArray h = halfEmbedTokens != null ? HalfOps.embedding(ids, halfEmbedTokens)
                    : ids.getNDArrayInternal().embedding(ids, embedTokens, SparseFormat.DENSE).singletonOrThrow(); // [B, T, hidden]
            RotaryEmbedding.Tables rope = positions.rope(rotary, h); // [T, headDim] or [B, 1, T, headDim] each
            NDArray mask = positions.mask(h); // [T, S], [B, 1, 1, T, S] or null
            for (LlamaDecoderLayer layer : layers) {
                NDArray input = boundary.enter(h);
                h = ForwardScope.run(() -> layer.forward(input, rope, mask, cache, hook)); // frees the layer's temporaries
            }
            if (cache != null) {
                cache.advance(length);
            }
            return norm.forward(h); // [B, T, hidden]
        });
    }

    @Override
    public List<List<String>> fusedProducts() {
        return layers.stream().flatMap(layer -> layer.fusedProducts().stream()).toList();
    }
}
