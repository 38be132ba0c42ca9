package dev.peftd.core.model.gpt2;

import static dev.peftd.core.model.CheckpointTensors.dimension;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.SparseFormat;
import dev.peftd.core.model.CheckpointTensors;
import dev.peftd.core.model.DecoderOnlyModel;
import dev.peftd.core.model.ForwardKv;
import dev.peftd.core.model.ForwardScope;
import dev.peftd.core.model.LayerBoundary;
import dev.peftd.core.model.LayerNorm;
import dev.peftd.core.model.Linear;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelInputs;
import dev.peftd.core.model.Precision;
import dev.peftd.core.model.RowPositions;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.ScalarConstants;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2: token plus learned position embeddings, pre-LayerNorm blocks with fused q/k/v ({@code c_attn}) and a
 * tanh-GELU MLP, final LayerNorm, output head tied to the token embedding.
 *
 * <p>Checkpoints saved from {@code GPT2LMHeadModel} prefix keys with {@code transformer.}; those saved from
 * {@code GPT2Model} (like the original {@code gpt2} repo) do not. Both load. Module names always carry the prefix,
 * because PEFT names modules on {@code GPT2LMHeadModel} ({@code transformer.h.0.attn.c_attn}).
 */
public final class Gpt2Model extends DecoderOnlyModel {

    private static final String MODULE_PREFIX = "transformer.";

    private final Embeddings embeddings;
    private final List<Gpt2Block> blocks;
    private final LayerNorm finalNorm;
    private final Precision precision;

    private Gpt2Model(ModelConfig config, NDManager manager, Embeddings embeddings, List<Gpt2Block> blocks,
            LayerNorm finalNorm, LinearLayer lmHead, Map<String, Linear> linears, Precision precision) {
        super(config, manager, lmHead, linears);
        this.embeddings = embeddings;
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.precision = precision;
    }

    /**
     * The token table {@code [vocab, hidden]} and position table {@code [positions, hidden]}: float32, or (in a half
     * model) half, the other pair {@code null}.
     */
    private record Embeddings(NDArray tokens, NDArray positions, HalfTensor halfTokens, HalfTensor halfPositions) {

        /** {@code wte(ids) + wpe(positionIds)}: in a half model two exact half lookups and a half add, as transformers. */
        NDArray lookUp(NDArray ids, NDArray positionIds, Precision precision) {
            if (halfTokens != null) {
                return precision.add(HalfOps.embedding(ids, halfTokens), HalfOps.embedding(positionIds, halfPositions));
            }
            NDArray t = ids.getNDArrayInternal().embedding(ids, tokens, SparseFormat.DENSE).singletonOrThrow();
            NDArray p = positionIds.getNDArrayInternal()
                    .embedding(positionIds, positions, SparseFormat.DENSE).singletonOrThrow(); // [T or B, T, hidden]
            return t.add(p); // [B, T, hidden]
        }

        Device device() {
            return halfTokens != null ? halfTokens.device() : tokens.getDevice();
        }
    }

    /**
     * Loads the weights as float32 or, when {@code w} holds a half type, every floating tensor in it (LayerNorm
     * weights, biases and both embedding tables too), as transformers' {@code dtype=torch.bfloat16} does.
     */
    public static Gpt2Model load(ModelConfig c, CheckpointTensors w) throws IOException {
        String keyPrefix = w.has(MODULE_PREFIX + "wte.weight") || !w.has("wte.weight") ? MODULE_PREFIX : "";
        Precision precision = w.precision();
        boolean half = precision.half() != null;
        ScalarConstants scalars = new ScalarConstants(w.manager());
        NDArray attentionScale = scalars.of(1.0 / Math.sqrt(c.headDim()));
        NDArray eps = scalars.of(c.normEps());
        Gpt2Activation activation = new Gpt2Activation(c.activation(), scalars, precision.half());
        long hidden = c.hiddenSize();
        long inner = c.intermediateSize();
        CheckpointTensors.ConfigDimension[] tokenShape =
                {dimension("vocab_size", c.vocabSize()), dimension("n_embd", hidden)}; // [vocab, hidden]
        CheckpointTensors.ConfigDimension[] positionShape =
                {dimension("n_positions", c.maxPositionEmbeddings()), dimension("n_embd", hidden)}; // [positions, hidden]
        String wte = keyPrefix + "wte.weight";
        String wpe = keyPrefix + "wpe.weight";
        Embeddings embeddings = half
                ? new Embeddings(null, null, w.getHalf(wte, tokenShape), w.getHalf(wpe, positionShape))
                : new Embeddings(w.get(wte, tokenShape), w.get(wpe, positionShape), null, null);
        Map<String, Linear> linears = new LinkedHashMap<>();
        List<Gpt2Block> blocks = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "h." + i + ".";
            blocks.add(new Gpt2Block(i, c.numHeads(),
                    layerNorm(w, keyPrefix + p + "ln_1", c, eps),
                    conv1d(w, linears, keyPrefix, p + "attn.c_attn", hidden, 3 * hidden),
                    conv1d(w, linears, keyPrefix, p + "attn.c_proj", hidden, hidden),
                    layerNorm(w, keyPrefix + p + "ln_2", c, eps),
                    conv1d(w, linears, keyPrefix, p + "mlp.c_fc", hidden, inner),
                    conv1d(w, linears, keyPrefix, p + "mlp.c_proj", inner, hidden),
                    activation, attentionScale, precision));
        }
        LayerNorm finalNorm = layerNorm(w, keyPrefix + "ln_f", c, eps);
        LinearLayer lmHead = outputHead(w, c, embeddings.tokens(), embeddings.halfTokens());
        linears.put(lmHead.name(), lmHead);
        return new Gpt2Model(c, w.manager(), embeddings, List.copyOf(blocks), finalNorm, lmHead,
                Collections.unmodifiableMap(linears), precision);
    }

    private static LayerNorm layerNorm(CheckpointTensors w, String name, ModelConfig c, NDArray eps) throws IOException {
        long hidden = c.hiddenSize();
        return w.precision().half() != null
                ? new LayerNorm(w.getHalf(name + ".weight", hidden), w.getHalf(name + ".bias", hidden), eps)
                : new LayerNorm(w.get(name + ".weight", hidden), w.get(name + ".bias", hidden), c.normEps());
    }

    /**
     * A Conv1D ({@code weight [in, out]}) as a linear layer with {@code weight [out, in]}. Conv1D's
     * {@code addmm(bias, x, W)} rounds once in a half model, as the half linear with bias does.
     */
    private static LinearLayer conv1d(CheckpointTensors w, Map<String, Linear> linears, String keyPrefix, String name,
            long in, long out) throws IOException {
        String key = keyPrefix + name;
        LinearLayer layer = w.precision().half() != null
                ? new LinearLayer(MODULE_PREFIX + name, w.getHalfTransposed(key + ".weight", in, out),
                        w.getHalf(key + ".bias", out))
                : new LinearLayer(MODULE_PREFIX + name, w.getTransposed(key + ".weight", in, out),
                        w.get(key + ".bias", out));
        linears.put(layer.name(), layer);
        return layer;
    }

    @Override
    protected NDArray hidden(NDArray inputIds, ForwardKv cache, LinearHook hook,
            LayerBoundary boundary) {
        return ForwardScope.run(() -> {
            NDArray ids = ModelInputs.checkedIds(inputIds, config().vocabSize(), embeddings.device()); // [B, T]
            int length = (int) ids.getShape().get(1);
            RowPositions positions = cache == null ? RowPositions.uniform(0, ids.getShape().get(0), length)
                    : cache.positions(ids.getShape().get(0), length);
            if (positions.end() > config().maxPositionEmbeddings()) {
                throw new IllegalArgumentException("sequence of " + positions.end() + " positions exceeds GPT-2's "
                        + config().maxPositionEmbeddings() + " learned positions");
            }
            NDArray positionIds = positions.positionIds(ids); // [T] or [B, T]
            NDArray h = embeddings.lookUp(ids, positionIds, precision); // [B, T, hidden]
            NDArray mask = positions.mask(h); // [T, S], [B, 1, 1, T, S] or null
            for (Gpt2Block block : blocks) {
                NDArray input = boundary.enter(h);
                h = ForwardScope.run(() -> block.forward(input, mask, cache, hook)); // frees the block's temporaries
            }
            if (cache != null) {
                cache.advance(length);
            }
            return finalNorm.forward(h); // [B, T, hidden]
        });
    }
}
