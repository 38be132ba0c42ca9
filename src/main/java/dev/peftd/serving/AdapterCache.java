package dev.peftd.serving;

import dev.peftd.kernel.Refusal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Adapters on their base models' devices, least recently used evicted first once their bytes pass the budget
 * ({@code PEFTD_SERVING_ADAPTER_CACHE_MB}). A request holds a {@link Leased.Lease} while it generates: an adapter evicted
 * meanwhile leaves the cache at once but keeps its tensors until its last lease is closed, so eviction never
 * pulls weights from under a running request. One adapter larger than the whole budget is still served (alone).
 */
final class AdapterCache implements AutoCloseable {

    /** Produces the local PEFT directory of an adapter (downloading it from the store when needed). */
    @FunctionalInterface
    public interface AdapterFiles {
        Path localDirectory() throws IOException;
    }

    private final long budgetBytes;
    private final ServingMeters meters;
    private final Map<String, Leased<FactoredAdapter>> entries = new LinkedHashMap<>(16, 0.75f, true); // access order = LRU first
    private final Map<String, Object> loading = new LinkedHashMap<>();
    /** Keys of adapters that were deleted: never loaded again (a request that resolved one just before is a 404). */
    private final Set<String> deleted = new HashSet<>();
    private long usedBytes;

    public AdapterCache(long budgetBytes, ServingMeters meters) {
        if (budgetBytes < 0) {
            throw new IllegalArgumentException("adapter cache budget must be >= 0 bytes, got " + budgetBytes);
        }
        this.budgetBytes = budgetBytes;
        this.meters = meters;
        meters.adapterCacheBytes(this::usedBytes);
    }

    /**
     * The adapter {@code key} on {@code base}, loaded from {@code files} on a miss. Two requests missing the same
     * key at once load it once.
     *
     * @param key identifies the adapter's content (e.g. its id plus version); the base is part of the cache key
     */
    public Leased.Lease<FactoredAdapter> acquire(String key, LoadedBase base, AdapterFiles files) {
        String cacheKey = key + "|" + base.key();
        Object lock;
        synchronized (this) {
            requireNotDeleted(key);
            Leased<FactoredAdapter> hit = entries.get(cacheKey);
            if (hit != null) {
                meters.adapterCacheHit();
                return hit.lease();
            }
            lock = loading.computeIfAbsent(cacheKey, k -> new Object());
        }
        synchronized (lock) { // one loader per key; others wait here and then find it cached
            synchronized (this) {
                Leased<FactoredAdapter> hit = entries.get(cacheKey);
                if (hit != null) {
                    meters.adapterCacheHit();
                    return hit.lease();
                }
            }
            meters.adapterCacheMiss();
            long start = System.nanoTime();
            FactoredAdapter adapter;
            try {
                adapter = FactoredAdapter.load(files.localDirectory(), base);
            } catch (IOException e) {
                throw new UncheckedIOException("adapter '" + key + "': " + e.getMessage(), e);
            } finally {
                synchronized (this) {
                    loading.remove(cacheKey);
                }
            }
            meters.adapterLoaded(System.nanoTime() - start);
            synchronized (this) {
                if (deleted.contains(key)) {   // deleted while it loaded
                    adapter.close();
                    requireNotDeleted(key);
                }
                Leased<FactoredAdapter> entry = new Leased<>(adapter, this, FactoredAdapter::close, () -> { });
                Leased.Lease<FactoredAdapter> lease = entry.lease(); // leased before eviction runs: it cannot evict itself
                entries.put(cacheKey, entry);
                usedBytes += adapter.bytes();
                evictOverBudget();
                return lease;
            }
        }
    }

    /** Drops every cached copy of {@code key} (an adapter that was deleted or replaced). */
    public synchronized void invalidate(String key) {
        Iterator<Map.Entry<String, Leased<FactoredAdapter>>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Leased<FactoredAdapter>> e = it.next();
            if (e.getKey().startsWith(key + "|")) {
                it.remove();
                usedBytes -= e.getValue().value().bytes();
                e.getValue().retire();
            }
        }
    }

    /**
     * Deletes adapters for good, all or none: refused while a request holds a lease on any of them (its generation
     * would lose its weights' files, and the client was told the model exists); otherwise they leave the cache and
     * are never loaded again.
     *
     * @throws Refusal a conflict naming {@code model} when one of them is in use
     */
    public synchronized void delete(Collection<String> keys, String model) {
        for (Map.Entry<String, Leased<FactoredAdapter>> e : entries.entrySet()) {
            if (keys.stream().anyMatch(key -> e.getKey().startsWith(key + "|")) && e.getValue().inUse()) {
                throw new Refusal(Refusal.Kind.CONFLICT, "model '" + model + "' is serving a request right now;"
                        + " delete it when the request is done", List.of(new Refusal.FieldError("model", "in use")));
            }
        }
        deleted.addAll(keys);
        keys.forEach(this::invalidate);
    }

    private void requireNotDeleted(String key) {
        if (deleted.contains(key)) {
            throw new Refusal(Refusal.Kind.NOT_FOUND, "the model was deleted");
        }
    }

    public synchronized long usedBytes() {
        return usedBytes;
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Cache keys, least recently used first (for tests and diagnostics). */
    public synchronized List<String> keys() {
        return new ArrayList<>(entries.keySet());
    }

    private void evictOverBudget() {
        Iterator<Map.Entry<String, Leased<FactoredAdapter>>> it = entries.entrySet().iterator();
        while (usedBytes > budgetBytes && entries.size() > 1 && it.hasNext()) {
            Leased<FactoredAdapter> victim = it.next().getValue();
            it.remove();
            usedBytes -= victim.value().bytes();
            victim.retire();
            meters.adapterCacheEviction();
        }
    }

    @Override
    public synchronized void close() {
        entries.values().forEach(Leased::retire);
        entries.clear();
        usedBytes = 0;
    }
}
