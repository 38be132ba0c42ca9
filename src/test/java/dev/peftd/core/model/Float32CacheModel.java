package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.tensor.HalfType;
import java.util.Map;

/**
 * A loaded model whose KV caches keep keys and values in float32 whatever the model's dtype, as every cache did
 * before a half model's cache took its half type: the reference a half cache must equal. Everything else is the
 * wrapped model's own (its caches' owner is the wrapped model, so its forward calls accept them).
 */
public final class Float32CacheModel implements CausalLm {

    private final CausalLm model;
    private final NDManager manager;
    private final Device device;

    /** @param model stays the caller's to close */
    public Float32CacheModel(CausalLm model, Device device) {
        this.model = model;
        this.device = device;
        this.manager = NDManager.newBaseManager(device);
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public NDArray forward(NDArray inputIds, KvCache cache, LinearHook hook) {
        return model.forward(inputIds, cache, hook);
    }

    @Override
    public NDArray hiddenStates(NDArray inputIds, LinearHook hook) {
        return model.hiddenStates(inputIds, hook);
    }

    @Override
    public LayerSegments segmentedHiddenStates(NDArray inputIds, LinearHook hook) {
        return model.segmentedHiddenStates(inputIds, hook);
    }

    @Override
    public NDArray outputHead(NDArray hidden, LinearHook hook) {
        return model.outputHead(hidden, hook);
    }

    @Override
    public HalfType halfType() {
        return model.halfType();
    }

    @Override
    public KvCache newCache() {
        return new DecoderKvCache(model, manager, config().numLayers(), null);
    }

    @Override
    public NDArray stepHidden(NDArray inputIds, PagedKvCache.Step step, LinearHook hook) {
        return model.stepHidden(inputIds, step, hook);
    }

    @Override
    public PagedKvCache newPagedCache(int blocks, int blockSize) {
        return new PagedKvCache(model, manager, device, blocks, blockSize, null);
    }

    @Override
    public Map<String, Linear> linears() {
        return model.linears();
    }

    @Override
    public long parameterBytes() {
        return model.parameterBytes();
    }

    @Override
    public void close() {
        manager.close();
    }
}
