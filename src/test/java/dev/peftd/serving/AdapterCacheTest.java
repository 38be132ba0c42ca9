package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.model.TestModels;
import dev.peftd.kernel.Refusal;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The adapter cache's LRU order, byte budget, eviction meters, leases that outlive eviction, and deletion that waits
 * for them.
 */
class AdapterCacheTest {

    private static final long[] PROMPT = {1, 17, 42, 99, 7};

    @Test
    void leastRecentlyUsedAdapterIsEvictedOnceTheBudgetIsExceeded() throws Exception {
        long loraBytes;
        try (ServingFixtures probe = new ServingFixtures()) {
            LoadedBase base = probe.engine.bases().get(TestModels.tinyLlama());
            try (Leased.Lease<FactoredAdapter> lease = probe.engine.adapters().acquire("a", base, files("llama-lora"))) {
                loraBytes = lease.value().bytes();
            }
        }
        // room for two LoRA copies but not three
        try (ServingFixtures serving = new ServingFixtures(2 * loraBytes + loraBytes / 2, 2)) {
            AdapterCache cache = serving.engine.adapters();
            LoadedBase base = serving.engine.bases().get(TestModels.tinyLlama());
            cache.acquire("one", base, files("llama-lora")).close();
            cache.acquire("two", base, files("llama-lora")).close();
            cache.acquire("one", base, files("llama-lora")).close(); // "two" is now least recently used
            cache.acquire("three", base, files("llama-lora")).close();
            assertEquals(List.of("one|" + base.key(), "three|" + base.key()), cache.keys());
            assertEquals(2 * loraBytes, cache.usedBytes());
            assertEquals(3.0, serving.counter("peftd.serving.adapter.cache.misses"));
            assertEquals(1.0, serving.counter("peftd.serving.adapter.cache.hits"));
            assertEquals(1.0, serving.counter("peftd.serving.adapter.cache.evictions"));
            assertEquals(3L, serving.registry.find("peftd.serving.adapter.load").timer().count());
            assertEquals(2.0 * loraBytes, serving.registry.find("peftd.serving.adapter.cache.bytes").gauge().value());
        }
    }

    @Test
    void anEvictedAdapterStaysUsableUntilItsLastRequestEnds() throws Exception {
        try (ServingFixtures serving = new ServingFixtures(1, 2)) { // budget of 1 byte: only one adapter at a time
            AdapterCache cache = serving.engine.adapters();
            LoadedBase base = serving.engine.bases().get(TestModels.tinyLlama());
            GenerationOptions options = GenerationOptions.greedy(6).withLogprobs(2);
            try (Leased.Lease<FactoredAdapter> held = cache.acquire("lora", base, files("llama-lora"))) {
                GenerationResult before = base.generator().generate(PROMPT, options, held.value(), TokenListener.NONE);
                cache.acquire("vera", base, files("llama-vera")).close(); // evicts "lora" while it is leased
                assertEquals(List.of("vera|" + base.key()), cache.keys());
                GenerationResult after = base.generator().generate(PROMPT, options, held.value(), TokenListener.NONE);
                assertTrue(Arrays.equals(before.generatedIds(), after.generatedIds()));
                assertEquals(before.logprobs(), after.logprobs());
            }
            Leased.Lease<FactoredAdapter> again = cache.acquire("vera", base, files("llama-vera"));
            Leased.Lease<FactoredAdapter> same = cache.acquire("vera", base, files("llama-vera"));
            assertSame(again.value(), same.value());
            again.close();
            same.close();
            cache.invalidate("vera");
            assertEquals(0, cache.size());
            assertEquals(0, cache.usedBytes());
        }
    }

    @Test
    void aDeletionIsRefusedWhileAnyOfItsAdaptersIsLeasedAndThenNoneLoadsAgain() throws Exception {
        try (ServingFixtures serving = new ServingFixtures()) {
            AdapterCache cache = serving.engine.adapters();
            LoadedBase base = serving.engine.bases().get(TestModels.tinyLlama());
            cache.acquire("final", base, files("llama-lora")).close();
            Leased.Lease<FactoredAdapter> request = cache.acquire("ckpt", base, files("llama-lora"));
            Refusal inUse = assertThrows(Refusal.class, () -> cache.delete(List.of("final", "ckpt"), "ft:m"));
            assertEquals(Refusal.Kind.CONFLICT, inUse.kind());
            assertTrue(inUse.getMessage().contains("'ft:m' is serving a request"));
            assertEquals(2, cache.size(), "all or none: the idle one stays too");
            cache.acquire("final", base, files("llama-lora")).close();

            request.close();
            cache.delete(List.of("final", "ckpt"), "ft:m");
            assertEquals(0, cache.size());
            Refusal gone = assertThrows(Refusal.class, () -> cache.acquire("ckpt", base, files("llama-lora")));
            assertEquals(Refusal.Kind.NOT_FOUND, gone.kind());
            cache.acquire("other", base, files("llama-lora")).close();
        }
    }

    private static AdapterCache.AdapterFiles files(String fixture) {
        Path dir = ServingFixtures.adapterDir(fixture);
        return () -> dir;
    }
}
