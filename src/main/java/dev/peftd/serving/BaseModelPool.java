package dev.peftd.serving;

import ai.djl.Device;
import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The base models the serving side uses, each loaded at most once per serving device, within a memory budget
 * ({@code PEFTD_SERVING_BASE_MODEL_CACHE_MB}; a model costs its parameter bytes, 2 per weight in a half dtype). A
 * request holds a {@link Leased.Lease} while it uses a model; once the loaded models pass the budget, the least recently used ones that no lease holds
 * are closed, which frees their native memory. A model in use is never evicted, so the pool may sit above its
 * budget until those requests finish (eviction runs again then); a model larger than the whole budget is still
 * served, alone, and stays loaded until another model is asked for. Concurrent first requests for the same directory wait for one load instead of loading twice.
 */
final class BaseModelPool implements AutoCloseable {

    private final Device device;
    private final ServingMeters meters;
    private final long budgetBytes;
    private final BatchDecoder.Limits batch;
    private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    private final Map<String, Object> loading = new HashMap<>();
    private long usedBytes;

    /** A pool without a budget: models stay loaded until {@link #unload} or {@link #close}. */
    public BaseModelPool(Device device, ServingMeters meters) {
        this(device, meters, Long.MAX_VALUE);
    }

    public BaseModelPool(Device device, ServingMeters meters, long budgetBytes) {
        this(device, meters, budgetBytes, ServingEngine.DEFAULT_BATCH);
    }

    /** @param batch each loaded model's batching limits (rows per forward, KV-cache bytes) */
    public BaseModelPool(Device device, ServingMeters meters, long budgetBytes, BatchDecoder.Limits batch) {
        this.batch = batch;
        if (budgetBytes < 0) {
            throw new IllegalArgumentException("base model budget must be >= 0 bytes, got " + budgetBytes);
        }
        this.device = device;
        this.meters = meters;
        this.budgetBytes = budgetBytes;
        meters.baseModelBytes(this::usedBytes);
    }

    /** The float32 model of {@code directory} (a Hugging Face model folder with tokenizer.json), held until closed. */
    public Leased.Lease<LoadedBase> acquire(Path directory) {
        return acquire(directory, ModelDtype.FLOAT32);
    }

    /** The model of {@code directory} loaded in {@code dtype}; each (directory, dtype) pair is loaded once. */
    public Leased.Lease<LoadedBase> acquire(Path directory, ModelDtype dtype) {
        Path dir = directory.toAbsolutePath().normalize();
        String key = key(dir, dtype);
        Object lock;
        synchronized (this) {
            Entry hit = entries.get(key);
            if (hit != null) {
                return hit.shared().lease();
            }
            lock = loading.computeIfAbsent(key, k -> new Object());
        }
        synchronized (lock) { // one loader per directory; the others wait here and then find it loaded
            synchronized (this) {
                Entry hit = entries.get(key);
                if (hit != null) {
                    return hit.shared().lease();
                }
            }
            LoadedBase base;
            try {
                base = load(key, dir, dtype);
            } finally {
                synchronized (this) {
                    loading.remove(key);
                }
            }
            synchronized (this) {
                Entry entry = new Entry(new Leased<>(base, this, LoadedBase::close, this::evictOverBudget),
                        base.model().parameterBytes());
                // held before eviction runs, so the new model cannot evict itself; when its last lease closes, the
                // pool looks again (it may have been the one keeping the pool over its budget)
                Leased.Lease<LoadedBase> lease = entry.shared().lease();
                entries.put(key, entry);
                usedBytes += entry.bytes();
                evictOverBudget();
                return lease;
            }
        }
    }

    /**
     * The model of {@code directory}, loaded if needed, without holding it: only for callers that own the pool
     * (tools, tests), since a later load may evict it. Requests use {@link #acquire}.
     */
    public LoadedBase get(Path directory) {
        try (Leased.Lease<LoadedBase> lease = acquire(directory)) {
            return lease.value();
        }
    }

    /** Frees a base model (e.g. when it is deleted): at once if unused, else when its last request finishes. */
    public synchronized void unload(Path directory) {
        for (ModelDtype dtype : ModelDtype.values()) {
            Entry entry = entries.remove(key(directory.toAbsolutePath().normalize(), dtype));
            if (entry != null) {
                usedBytes -= entry.bytes();
                entry.shared().retire();
            }
        }
    }

    private String key(Path normalized, ModelDtype dtype) {
        return normalized + "@" + device + (dtype == ModelDtype.FLOAT32 ? "" : "/" + dtype);
    }

    public Device device() {
        return device;
    }

    public synchronized long usedBytes() {
        return usedBytes;
    }

    /** Directories of the loaded models, least recently used first (for tests and diagnostics). */
    public synchronized List<Path> loaded() {
        List<Path> dirs = new ArrayList<>();
        entries.values().forEach(e -> dirs.add(e.shared().value().directory()));
        return dirs;
    }

    private LoadedBase load(String key, Path dir, ModelDtype dtype) {
        long start = System.nanoTime();
        CausalLm model;
        try {
            model = ModelLoader.load(dir, device, dtype);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load base model " + dir + ": " + e.getMessage(), e);
        }
        try {
            LoadedBase base = LoadedBase.of(key, dir, model, Tokenizer.load(dir), batch, meters);
            meters.baseModelLoaded(System.nanoTime() - start);
            return base;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Closes unused models, least recently used first, until the rest fit the budget or all are in use. The most
     * recently used model always stays, so one larger than the whole budget is not reloaded for every request.
     */
    private void evictOverBudget() {
        Iterator<Entry> it = entries.values().iterator();
        for (int left = entries.size(); usedBytes > budgetBytes && left > 1; left--) {
            Entry candidate = it.next();
            if (!candidate.shared().inUse()) {
                it.remove();
                usedBytes -= candidate.bytes();
                candidate.shared().retire();
                meters.baseModelEviction();
            }
        }
    }

    @Override
    public synchronized void close() {
        entries.values().forEach(e -> e.shared().retire());
        entries.clear();
        usedBytes = 0;
    }

    /** One loaded model, its bytes against the budget, and the requests using it. Guarded by the pool's monitor. */
    private record Entry(Leased<LoadedBase> shared, long bytes) {
    }
}
