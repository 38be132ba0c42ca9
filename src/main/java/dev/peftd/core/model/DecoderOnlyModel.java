package dev.peftd.core.model;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.HalfType;
import java.io.IOException;
import java.util.Map;

/**
 * What every decoder-only model shares around its body: the output head, KV caches, the map of adaptable linear
 * layers and the lifetime of the weights. Subclasses compute the body, {@link #hidden}.
 */
public abstract class DecoderOnlyModel implements CausalLm {

    private final ModelConfig config;
    private final NDManager manager;
    private final LinearLayer lmHead;
    private final Map<String, Linear> linears;
    private final long parameterBytes;

    /**
     * @param manager owns every weight; closed with the model
     * @param linears every adaptable linear layer by HF module name, the head included (see {@link #linears()})
     */
    /**
     * The output head {@code lm_head} ({@code [vocab, hidden]}, no bias): the token table when the embeddings are
     * tied, else the checkpoint's {@code lm_head.weight}, in the model's precision.
     *
     * @param tokens the token table, float32 or half as the model holds it (the other one {@code null})
     */
    protected static LinearLayer outputHead(CheckpointTensors w, ModelConfig c, NDArray tokens, HalfTensor halfTokens)
            throws IOException {
        String key = "lm_head.weight";
        if (w.precision().half() != null) {
            return new LinearLayer("lm_head", c.tieWordEmbeddings() ? halfTokens
                    : w.getHalf(key, c.vocabSize(), c.hiddenSize()), null);
        }
        return new LinearLayer("lm_head", c.tieWordEmbeddings() ? tokens : w.get(key, c.vocabSize(), c.hiddenSize()),
                null);
    }

    protected DecoderOnlyModel(ModelConfig config, NDManager manager, LinearLayer lmHead, Map<String, Linear> linears) {
        this.config = config;
        this.manager = manager;
        this.lmHead = lmHead;
        this.linears = linears;
        this.parameterBytes = bytesHeldBy(manager); // now, before any KV cache joins the manager
    }

    private static long bytesHeldBy(NDManager manager) {
        if (!(manager instanceof BaseNDManager base)) {
            return 0;
        }
        return base.getManagedArrays().stream().distinct()
                .mapToLong(HalfOps::storageBytes).sum();
    }

    /**
     * The final norm's output for positions {@code cache.length() …} (from 0 without a cache).
     *
     * @param inputIds token ids, int64 {@code [B, T]}
     * @param cache    appended to when given (a sequence batch's {@link DecoderKvCache} or a {@link PagedKvCache.Step})
     * @param boundary applied to the hidden states before each decoder layer
     * @return float32 {@code [B, T, hidden]}
     */
    protected abstract NDArray hidden(NDArray inputIds, ForwardKv cache, LinearHook hook, LayerBoundary boundary);

    @Override
    public final ModelConfig config() {
        return config;
    }

    @Override
    public final NDArray forward(NDArray inputIds, KvCache kvCache, LinearHook hook) {
        try (NDArray hidden = hidden(inputIds, DecoderKvCache.checked(kvCache, this), hook, LayerBoundary.NONE)) {
            return outputHead(hidden, hook);
        }
    }

    @Override
    public final NDArray stepHidden(NDArray inputIds, PagedKvCache.Step step, LinearHook hook) {
        if (step.owner() != this) {
            throw new IllegalArgumentException("this paged KV cache was not made by this model's newPagedCache()");
        }
        return hidden(inputIds, step, hook, LayerBoundary.NONE);
    }

    @Override
    public final PagedKvCache newPagedCache(int blocks, int blockSize) {
        return new PagedKvCache(this, manager, lmHead.device(), blocks, blockSize, halfType());
    }

    @Override
    public final NDArray hiddenStates(NDArray inputIds, LinearHook hook) {
        return hidden(inputIds, null, hook, LayerBoundary.NONE);
    }

    @Override
    public final LayerSegments segmentedHiddenStates(NDArray inputIds, LinearHook hook) {
        LayerSegments segments = new LayerSegments(hook);
        try {
            segments.finish(hidden(inputIds, null, hook, segments));
            return segments;
        } catch (RuntimeException e) {
            segments.close();
            throw e;
        }
    }

    @Override
    public final NDArray outputHead(NDArray hidden, LinearHook hook) {
        return ForwardScope.run(() -> lmHead.forward(hidden, hook)); // [..., vocab]
    }

    @Override
    public final KvCache newCache() {
        return new DecoderKvCache(this, manager, config.numLayers(), halfType());
    }

    @Override
    public final HalfType halfType() {
        return lmHead.halfType(); // every weight is in the model's precision, the head too
    }

    @Override
    public final Map<String, Linear> linears() {
        return linears;
    }

    @Override
    public final long parameterBytes() {
        return parameterBytes;
    }

    @Override
    public final void close() {
        manager.close();
    }
}
