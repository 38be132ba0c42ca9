package dev.peftd.serving;

import ai.djl.Device;
import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.generate.PassThreads;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.model.ModelDtype;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * The serving engine outside the service, for in-process callers such as the benchmarks: the same base-model pool,
 * adapter cache, sessions, adapter hooks and batching loop that HTTP requests go through, on one device, without
 * byte budgets for models and adapters, its meters in a registry of its own. This is serving's public face; the engine's parts
 * stay package-private so that nothing outside serving depends on how they fit together.
 */
public final class LocalServing implements AutoCloseable {

    /** What a request runs on: a bare base, a base with an adapter applied unmerged, or a merged checkpoint. */
    public static final class Target {
        private final ServedModel model;

        private Target(ServedModel model) {
            this.model = model;
        }

        public static Target base(Path baseDir) {
            return base(baseDir, ModelDtype.FLOAT32);
        }

        /** @param dtype the type the base is loaded in (auto resolved on the serving device) */
        public static Target base(Path baseDir, ModelDtype dtype) {
            return new Target(ServedModel.base("base", baseDir, dtype));
        }

        /** @param adapterKey the cache's identity for the adapter; its PEFT directory is read on a cache miss */
        public static Target adapter(Path baseDir, String adapterKey, Path adapterDir) {
            return adapter(baseDir, ModelDtype.FLOAT32, adapterKey, adapterDir);
        }

        /** The adapter (float32 on any base) on its base loaded in {@code dtype}. */
        public static Target adapter(Path baseDir, ModelDtype dtype, String adapterKey, Path adapterDir) {
            return new Target(ServedModel.adapter(adapterKey, baseDir, dtype, adapterKey, () -> adapterDir));
        }

        public static Target merged(Path mergedDir) {
            return new Target(ServedModel.merged("merged", mergedDir));
        }
    }

    private static final String ENDPOINT = "local";

    private final ServingEngine engine;

    public LocalServing(Device device) {
        this(device, ServingEngine.DEFAULT_BATCH.maxRows());
    }

    /** @param maxBatchRows most sequences in one forward pass */
    public LocalServing(Device device, int maxBatchRows) {
        this(device, maxBatchRows, 1);
    }

    /**
     * @param maxBatchRows  most sequences in one forward pass
     * @param maxConcurrent most {@link #generateUnbatched} calls computing at once (the rest wait)
     */
    public LocalServing(Device device, int maxBatchRows, int maxConcurrent) {
        this(device, maxBatchRows, maxConcurrent, PassThreads.BY_SIZE);
    }

    /** @param passThreads the intra-op threads each batched forward pass computes with */
    public LocalServing(Device device, int maxBatchRows, int maxConcurrent, PassThreads passThreads) {
        ServingMeters meters = new ServingMeters(new SimpleMeterRegistry());
        this.engine = new ServingEngine(new BaseModelPool(device, meters, Long.MAX_VALUE, new BatchDecoder.Limits(
                maxBatchRows, ServingEngine.DEFAULT_BATCH.cacheBytes(), ServingEngine.DEFAULT_BATCH.blockSize(),
                passThreads)), new AdapterCache(Long.MAX_VALUE, meters), meters, maxConcurrent);
    }

    /** Loads the base model once (later calls find it loaded) and returns its vocabulary size. */
    public int loadBase(Path baseDir) {
        return loadBase(baseDir, ModelDtype.FLOAT32);
    }

    /** {@link #loadBase(Path)} in {@code dtype}. */
    public int loadBase(Path baseDir, ModelDtype dtype) {
        return engine.bases().get(baseDir, dtype).model().config().vocabSize();
    }

    public void unloadBase(Path baseDir) {
        engine.bases().unload(baseDir);
    }

    /** Makes {@code target} ready to compute, as a request does before its first token (loading what is missing). */
    public void prepare(Target target) {
        engine.open(target.model, ENDPOINT).close();
    }

    /** Drops an adapter from the cache, so the next request for it reads it from disk again. */
    public void evictAdapter(String adapterKey) {
        engine.adapters().invalidate(adapterKey);
    }

    /** Device bytes the adapter's factors take in the cache. */
    public long adapterBytes(Target target) {
        ServedModel model = target.model;
        try (Leased.Lease<FactoredAdapter> lease = engine.adapters().acquire(model.adapterKey(),
                engine.bases().get(model.baseDir()), model.adapterFiles())) {
            return lease.value().bytes();
        }
    }

    /** Generates as a request does (same session, hook, budget-free options and stop conditions), in the batch. */
    public GenerationResult generate(Target target, long[] promptIds, GenerationOptions options,
                                     TokenListener listener) {
        try (ServingEngine.Session session = engine.open(target.model, ENDPOINT)) {
            return session.generate(promptIds, options, listener);
        }
    }

    /** Queues a generation into its base model's running batch; the model stays leased until it completes. */
    public CompletableFuture<GenerationResult> submit(Target target, long[] promptIds, GenerationOptions options) {
        ServingEngine.Session session = engine.open(target.model, ENDPOINT);
        try {
            return session.submit(promptIds, options, TokenListener.NONE).whenComplete((r, e) -> session.close());
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /** Generates one sequence per forward pass, as serving did before batching (for the benchmark's comparison). */
    public GenerationResult generateUnbatched(Target target, long[] promptIds, GenerationOptions options) {
        try (ServingEngine.Session session = engine.open(target.model, ENDPOINT)) {
            return session.generateUnbatched(promptIds, options, TokenListener.NONE);
        }
    }

    /** Writes the merged checkpoint of an adapter on the loaded base, as the merge action does. */
    public void merge(Path baseDir, Path adapterDir, Path outDir) throws IOException {
        AdapterMerger.merge(engine.bases().get(baseDir), adapterDir, outDir);
    }

    @Override
    public void close() {
        engine.close();
    }
}
