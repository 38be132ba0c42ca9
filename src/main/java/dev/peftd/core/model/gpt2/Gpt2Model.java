package dev.peftd.core.model.gpt2;

import static dev.peftd.core.model.CheckpointTensors.dimension;

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
import dev.peftd.core.model.RowPositions;
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

    private final NDArray tokenEmbedding;
    private final NDArray positionEmbedding;
    private final List<Gpt2Block> blocks;
    private final LayerNorm finalNorm;

    private Gpt2Model(ModelConfig config, NDManager manager, NDArray tokenEmbedding, NDArray positionEmbedding,
            List<Gpt2Block> blocks, LayerNorm finalNorm, LinearLayer lmHead, Map<String, Linear> linears) {
        super(config, manager, lmHead, linears);
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.blocks = blocks;
        this.finalNorm = finalNorm;
    }

    public static Gpt2Model load(ModelConfig c, CheckpointTensors w) throws IOException {
        String keyPrefix = w.has(MODULE_PREFIX + "wte.weight") || !w.has("wte.weight") ? MODULE_PREFIX : "";
        ScalarConstants scalars = new ScalarConstants(w.manager());
        NDArray attentionScale = scalars.of(1.0 / Math.sqrt(c.headDim()));
        Gpt2Activation activation = new Gpt2Activation(c.activation(), scalars);
        long hidden = c.hiddenSize();
        long inner = c.intermediateSize();
        NDArray wte = w.get(keyPrefix + "wte.weight", dimension("vocab_size", c.vocabSize()),
                dimension("n_embd", hidden)); // [vocab, hidden]
        NDArray wpe = w.get(keyPrefix + "wpe.weight",
                dimension("n_positions", c.maxPositionEmbeddings()), dimension("n_embd", hidden)); // [positions, hidden]
        Map<String, Linear> linears = new LinkedHashMap<>();
        List<Gpt2Block> blocks = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "h." + i + ".";
            blocks.add(new Gpt2Block(i, c.numHeads(),
                    layerNorm(w, keyPrefix + p + "ln_1", c),
                    conv1d(w, linears, keyPrefix, p + "attn.c_attn", hidden, 3 * hidden),
                    conv1d(w, linears, keyPrefix, p + "attn.c_proj", hidden, hidden),
                    layerNorm(w, keyPrefix + p + "ln_2", c),
                    conv1d(w, linears, keyPrefix, p + "mlp.c_fc", hidden, inner),
                    conv1d(w, linears, keyPrefix, p + "mlp.c_proj", inner, hidden),
                    activation, attentionScale));
        }
        LayerNorm finalNorm = layerNorm(w, keyPrefix + "ln_f", c);
        NDArray headWeight = c.tieWordEmbeddings() ? wte : w.get("lm_head.weight", c.vocabSize(), hidden);
        LinearLayer lmHead = new LinearLayer("lm_head", headWeight, null);
        linears.put(lmHead.name(), lmHead);
        return new Gpt2Model(c, w.manager(), wte, wpe, List.copyOf(blocks), finalNorm, lmHead,
                Collections.unmodifiableMap(linears));
    }

    private static LayerNorm layerNorm(CheckpointTensors w, String name, ModelConfig c) throws IOException {
        return new LayerNorm(w.get(name + ".weight", c.hiddenSize()), w.get(name + ".bias", c.hiddenSize()), c.normEps());
    }

    /** A Conv1D ({@code weight [in, out]}) as a linear layer with {@code weight [out, in]}. */
    private static LinearLayer conv1d(CheckpointTensors w, Map<String, Linear> linears, String keyPrefix, String name,
            long in, long out) throws IOException {
        LinearLayer layer = new LinearLayer(MODULE_PREFIX + name, w.getTransposed(keyPrefix + name + ".weight", in, out),
                w.get(keyPrefix + name + ".bias", out));
        linears.put(layer.name(), layer);
        return layer;
    }

    @Override
    protected NDArray hidden(NDArray inputIds, ForwardKv cache, LinearHook hook,
            LayerBoundary boundary) {
        return ForwardScope.run(() -> {
            NDArray ids = ModelInputs.checkedIds(inputIds, config().vocabSize(), tokenEmbedding.getDevice()); // [B, T]
            int length = (int) ids.getShape().get(1);
            RowPositions positions = cache == null ? RowPositions.uniform(0, ids.getShape().get(0), length)
                    : cache.positions(ids.getShape().get(0), length);
            if (positions.end() > config().maxPositionEmbeddings()) {
                throw new IllegalArgumentException("sequence of " + positions.end() + " positions exceeds GPT-2's "
                        + config().maxPositionEmbeddings() + " learned positions");
            }
            NDArray positionIds = positions.positionIds(ids); // [T] or [B, T]
            NDArray tokens = ids.getNDArrayInternal().embedding(ids, tokenEmbedding, SparseFormat.DENSE).singletonOrThrow();
            NDArray placed = positionIds.getNDArrayInternal()
                    .embedding(positionIds, positionEmbedding, SparseFormat.DENSE).singletonOrThrow(); // [T or B, T, hidden]
            NDArray h = tokens.add(placed); // [B, T, hidden]
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
