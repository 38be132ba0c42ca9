package dev.peftd.serving;

import ai.djl.Device;
import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.kernel.Refusal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The base models the serving side uses, each loaded at most once per serving device, within a memory budget
 * ({@code PEFTD_SERVING_BASE_MODEL_CACHE_MB}). A model costs its parameter bytes (2 per weight in a half dtype) plus
 * its batching loop's KV cache ({@code PEFTD_SERVING_BATCH_KV_CACHE_MB}, at most its rows' full contexts), counted
 * from its load on, so loaded models and their caches never pass the budget together. A request holds a
 * {@link Leased.Lease} while it uses a model; to make room for another model, the least recently used ones that no
 * lease holds are closed, which frees their native memory. When the room cannot be made, the request is refused with
 * a refusal (a 503) that says why: the models in the way are serving requests ({@link Refusal.Kind#SERVING_CAPACITY},
 * retry when they finish), or the model with its cache is larger than the whole budget
 * ({@link Refusal.Kind#EXCEEDS_SERVING_BUDGET}, no Retry-After: the operator must change one of the two settings). A model refused once is not loaded again while it still could not fit (its cost is
 * remembered). Concurrent first requests for the same directory wait for one load instead of loading twice.
 */
final class BaseModelPool implements AutoCloseable {

    private final Device device;
    private final ServingMeters meters;
    private final long budgetBytes;
    private final BatchDecoder.Limits batch;
    private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    private final Map<Path, ModelDtype> autoTypes = new ConcurrentHashMap<>(); // what auto is per directory, read once
    private final Map<String, Object> loading = new HashMap<>();
    private final Map<String, Long> knownCosts = new HashMap<>(); // bytes of every model loaded once, by key
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

    /**
     * The model of {@code directory} loaded in {@code dtype}; each (directory, type) pair is loaded once, auto counting
     * as the type it resolves to on this pool's device (a model registered as auto and as bfloat16 is loaded once).
     */
    public Leased.Lease<LoadedBase> acquire(Path directory, ModelDtype dtype) {
        Path dir = directory.toAbsolutePath().normalize();
        ModelDtype type = resolved(dir, dtype);
        String key = key(dir, type);
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
            synchronized (this) { // known too large to fit now: refused without loading it again
                Long known = knownCosts.get(key);
                if (known != null && !makeRoom(known)) {
                    throw noRoom(known);
                }
            }
            LoadedBase base;
            try {
                base = load(key, dir, type);
            } finally {
                synchronized (this) {
                    loading.remove(key);
                }
            }
            synchronized (this) {
                long bytes = base.bytes();
                knownCosts.put(key, bytes);
                if (!makeRoom(bytes)) {
                    base.close();
                    throw noRoom(bytes);
                }
                Entry entry = new Entry(new Leased<>(base, this, LoadedBase::close, () -> { }), bytes);
                Leased.Lease<LoadedBase> lease = entry.shared().lease();
                entries.put(key, entry);
                usedBytes += entry.bytes();
                return lease;
            }
        }
    }

    /**
     * The model of {@code directory}, loaded if needed, without holding it: only for callers that own the pool
     * (tools, tests), since a later load may evict it. Requests use {@link #acquire}.
     */
    public LoadedBase get(Path directory) {
        return get(directory, ModelDtype.FLOAT32);
    }

    /** {@link #get(Path)} in {@code dtype}. */
    public LoadedBase get(Path directory, ModelDtype dtype) {
        try (Leased.Lease<LoadedBase> lease = acquire(directory, dtype)) {
            return lease.value();
        }
    }

    /** Frees a base model (e.g. when it is deleted): at once if unused, else when its last request finishes. */
    public synchronized void unload(Path directory) {
        autoTypes.remove(directory.toAbsolutePath().normalize());
        for (ModelDtype dtype : ModelDtype.values()) {
            Entry entry = entries.remove(key(directory.toAbsolutePath().normalize(), dtype));
            if (entry != null) {
                usedBytes -= entry.bytes();
                entry.shared().retire();
            }
        }
    }

    /** {@code dtype}, auto resolved from the directory's headers once (every request acquires: no I/O per request). */
    private ModelDtype resolved(Path dir, ModelDtype dtype) {
        if (dtype != ModelDtype.AUTO) {
            return dtype;
        }
        return autoTypes.computeIfAbsent(dir, d -> {
            try {
                return ModelLoader.resolve(d, device, dtype);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read base model " + d + ": " + e.getMessage(), e);
            }
        });
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
     * Closes unused models, least recently used first, until {@code bytes} more fit the budget; none when even
     * closing every unused one would not make the room.
     *
     * @return whether they fit now
     */
    private boolean makeRoom(long bytes) {
        long freeable = entries.values().stream().filter(e -> !e.shared().inUse()).mapToLong(Entry::bytes).sum();
        if (bytes > budgetBytes - usedBytes + freeable) {
            return false;
        }
        Iterator<Entry> it = entries.values().iterator();
        while (bytes > budgetBytes - usedBytes && it.hasNext()) {
            Entry candidate = it.next();
            if (!candidate.shared().inUse()) {
                it.remove();
                usedBytes -= candidate.bytes();
                candidate.shared().retire();
                meters.baseModelEviction();
            }
        }
        return bytes <= budgetBytes - usedBytes;
    }

    /** Why a model that needs {@code bytes} cannot be loaded now, with what would change that. */
    private Refusal noRoom(long bytes) {
        if (bytes > budgetBytes) {
            return new Refusal(Refusal.Kind.EXCEEDS_SERVING_BUDGET, "this base model needs " + mb(bytes) + " with its KV cache,"
                    + " more than the whole base-model memory budget of " + mb(budgetBytes) + "; the operator must raise"
                    + " PEFTD_SERVING_BASE_MODEL_CACHE_MB or lower PEFTD_SERVING_BATCH_KV_CACHE_MB");
        }
        return new Refusal(Refusal.Kind.SERVING_CAPACITY, "this base model needs " + mb(bytes) + " with its KV cache"
                + " and only " + mb(budgetBytes - usedBytes) + " of the " + mb(budgetBytes) + " base-model memory budget"
                + " is free: the other loaded models are serving requests; retry when they finish");
    }

    private static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024.0));
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
