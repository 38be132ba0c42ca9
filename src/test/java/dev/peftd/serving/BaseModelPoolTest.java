package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.LiveArrays;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.PagedKvCache;
import dev.peftd.core.model.TestModels;
import dev.peftd.kernel.Refusal;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Base models within a memory budget that counts each model's weights and its batching loop's KV cache: least
 * recently used ones are closed (and their native arrays freed) to make room, never one a request holds; a model that
 * cannot fit is refused (503) with the reason, and the pool never passes its budget.
 */
class BaseModelPoolTest {

    private static final Path LLAMA = TestModels.tinyLlama();
    private static final Path QWEN = TestModels.tinyQwen2();
    private static final Path MISTRAL = TestModels.tinyMistral();

    private static long llamaBytes;
    private static long qwenBytes;
    private static long mistralBytes;
    private static int llamaArrays;
    private static int mistralArrays;

    @BeforeAll
    static void measure() {
        try (BaseModelPool probe = pool(Long.MAX_VALUE)) {
            int before = LiveArrays.count();
            llamaBytes = probe.get(LLAMA).bytes();
            llamaArrays = LiveArrays.count() - before;
            qwenBytes = probe.get(QWEN).bytes();
            int beforeMistral = LiveArrays.count();
            mistralBytes = probe.get(MISTRAL).bytes();
            mistralArrays = LiveArrays.count() - beforeMistral;
        }
        assertThat(llamaBytes).as("float32 weights of the tiny Llama").isGreaterThan(400_000);
    }

    @Test
    void loadingAThirdModelEvictsTheLeastRecentlyUsedAndFreesItsArrays() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        int before = LiveArrays.count();
        try (BaseModelPool pool = new BaseModelPool(Engine.getInstance().defaultDevice(), new ServingMeters(registry),
                qwenBytes + Math.max(llamaBytes, mistralBytes))) { // two fit, three do not
            pool.get(LLAMA);
            pool.get(QWEN);
            int withTwo = LiveArrays.count();
            pool.get(MISTRAL); // Llama is the least recently used and nobody holds it
            assertThat(pool.loaded()).containsExactly(QWEN.toAbsolutePath().normalize(),
                    MISTRAL.toAbsolutePath().normalize());
            assertThat(pool.usedBytes()).isEqualTo(qwenBytes + mistralBytes);
            assertThat(LiveArrays.count()).as("the evicted model's arrays are closed")
                    .isEqualTo(withTwo - llamaArrays + mistralArrays);
            assertThat(registry.find("peftd.serving.base.evictions").counter().count()).isEqualTo(1.0);
            assertThat(registry.find("peftd.serving.base.bytes").gauge().value()).isEqualTo((double) (qwenBytes + mistralBytes));

            pool.get(QWEN); // now Mistral is the least recently used
            pool.get(LLAMA);
            assertThat(pool.loaded()).containsExactly(QWEN.toAbsolutePath().normalize(),
                    LLAMA.toAbsolutePath().normalize());
        }
        assertThat(LiveArrays.count()).isEqualTo(before);
    }

    @Test
    void theBudgetCountsEachModelsKvCacheBesideItsWeights() {
        try (BaseModelPool pool = pool(Long.MAX_VALUE)) {
            LoadedBase llama = pool.get(LLAMA);
            long cache = llama.decoder().cacheBytes();
            // the tiny Llama's rows' full contexts are less than the default 256 MB: the cache is what they need
            assertThat(cache).isPositive().isLessThanOrEqualTo(ServingEngine.DEFAULT_BATCH.cacheBytes())
                    .isEqualTo(PagedKvCache.bytes(llama.model().config(), null,
                            llama.decoder().capacityPositions() / ServingEngine.DEFAULT_BATCH.blockSize(),
                            ServingEngine.DEFAULT_BATCH.blockSize()));
            assertThat(pool.usedBytes()).isEqualTo(llama.model().parameterBytes() + cache).isEqualTo(llamaBytes);
        }
    }

    @Test
    void aModelInUseIsNeverEvictedAndOneThatWouldPassTheBudgetIsRefusedUntilItsRequestEnds() {
        long budget = llamaBytes + Math.max(qwenBytes, mistralBytes); // two fit, three do not
        try (BaseModelPool pool = pool(budget)) {
            try (Leased.Lease<LoadedBase> held = pool.acquire(LLAMA)) {
                pool.acquire(QWEN).close();
                pool.acquire(MISTRAL).close(); // evicts Qwen, the unused one
                assertThat(pool.loaded()).containsExactly(LLAMA.toAbsolutePath().normalize(),
                        MISTRAL.toAbsolutePath().normalize());
                try (Leased.Lease<LoadedBase> alsoHeld = pool.acquire(MISTRAL)) {
                    int arrays = LiveArrays.count();
                    for (int attempt = 0; attempt < 2; attempt++) { // its cost is known: refused without loading it
                        assertThatThrownBy(() -> pool.acquire(QWEN)).isInstanceOfSatisfying(Refusal.class, e -> {
                            assertThat(e.kind()).isEqualTo(Refusal.Kind.SERVING_CAPACITY);
                            assertThat(e.getMessage()).contains("serving requests", "retry", "KV cache")
                                    .doesNotContain(QWEN.toAbsolutePath().toString());
                        });
                    }
                    assertThat(LiveArrays.count()).as("the refused model's arrays are closed").isEqualTo(arrays);
                    assertThat(pool.loaded()).hasSize(2);
                    assertThat(pool.usedBytes()).isEqualTo(llamaBytes + mistralBytes).isLessThanOrEqualTo(budget);
                }
                assertThat(held.value().generator().generate(new long[] {1, 17, 42}, GenerationOptions.greedy(3))
                        .generatedIds()).isNotEmpty(); // its weights are all still there
                pool.acquire(QWEN).close(); // Mistral's request ended: it makes room now
                assertThat(pool.loaded()).containsExactly(LLAMA.toAbsolutePath().normalize(),
                        QWEN.toAbsolutePath().normalize());
            }
        }
    }

    @Test
    void aModelWhoseWeightsAndCacheExceedTheWholeBudgetIsRefusedNamingTheSettings() {
        long weights;
        long cache;
        try (BaseModelPool probe = pool(Long.MAX_VALUE)) {
            weights = probe.get(LLAMA).model().parameterBytes();
            cache = probe.get(LLAMA).decoder().cacheBytes();
        }
        int before = LiveArrays.count();
        long budget = weights + cache / 2; // the weights fit, the weights and the cache do not
        try (BaseModelPool pool = pool(budget)) {
            assertThatThrownBy(() -> pool.get(LLAMA)).isInstanceOfSatisfying(Refusal.class, e -> {
                assertThat(e.kind()).isEqualTo(Refusal.Kind.EXCEEDS_SERVING_BUDGET);
                assertThat(e.getMessage()).contains("PEFTD_SERVING_BASE_MODEL_CACHE_MB", "PEFTD_SERVING_BATCH_KV_CACHE_MB");
            });
            assertThat(pool.loaded()).isEmpty();
            assertThat(pool.usedBytes()).isZero();
        }
        assertThat(LiveArrays.count()).isEqualTo(before);
        // a smaller KV cache is what the message asks for: the same budget then serves the model
        BatchDecoder.Limits smaller = new BatchDecoder.Limits(4, cache / 4, ServingEngine.DEFAULT_BATCH.blockSize());
        try (BaseModelPool pool = new BaseModelPool(Engine.getInstance().defaultDevice(),
                new ServingMeters(new SimpleMeterRegistry()), budget, smaller)) {
            LoadedBase llama = pool.get(LLAMA);
            assertThat(pool.usedBytes()).isEqualTo(weights + llama.decoder().cacheBytes()).isLessThanOrEqualTo(budget);
            assertThat(llama.generator().generate(new long[] {1, 17}, GenerationOptions.greedy(2)).generatedIds())
                    .hasSize(2);
        }
    }

    private static BaseModelPool pool(long budgetBytes) {
        return new BaseModelPool(Engine.getInstance().defaultDevice(), new ServingMeters(new SimpleMeterRegistry()),
                budgetBytes);
    }

    /**
     * The budget counts what a half base really holds: 2 bytes a weight, half the float32 load of the same files, and
     * a KV cache of 2 bytes a value.
     */
    @Test
    void aBfloat16BaseCountsHalfTheBytesAndLoadsBesideTheFloat32One() {
        try (BaseModelPool pool = pool(Long.MAX_VALUE)) {
            long float32 = pool.get(LLAMA).model().parameterBytes();
            long cache = pool.get(LLAMA).decoder().cacheBytes();
            try (Leased.Lease<LoadedBase> half = pool.acquire(LLAMA, ModelDtype.BFLOAT16)) {
                assertThat(half.value().model().linears().get("model.layers.0.self_attn.q_proj").halfPrecision()).isTrue();
                long bytes = half.value().model().parameterBytes();
                // the weights in 2 bytes each, plus a few scalar constants and the fused blocks' int64 [3] head
                // dims (was 8 bytes: bf16 counted as 0); q/k/v and gate/up stacked, counted once through their views
                assertThat(bytes).isBetween(float32 / 2, float32 / 2 + 16 + 24);
                long halfCache = half.value().decoder().cacheBytes();
                // as many positions as the float32 model's (both hold their rows' full contexts), at 2 bytes a value
                assertThat(halfCache).isEqualTo(cache / 2);
                assertThat(pool.usedBytes()).isEqualTo(float32 + bytes + cache + halfCache);
                assertThat(pool.loaded()).hasSize(2);
            }
            pool.unload(LLAMA);
            assertThat(pool.usedBytes()).as("unloading a directory frees it in every dtype").isZero();
        }
    }

    /** auto counts as the type it resolves to on the pool's device: registered as auto and as that type, one load. */
    @Test
    void autoAndTheTypeItResolvesToShareOneLoad() throws Exception {
        try (BaseModelPool pool = pool(Long.MAX_VALUE)) {
            ModelDtype resolved = ModelLoader.resolve(QWEN, pool.device(), ModelDtype.AUTO);   // tiny-qwen2: BF16 files
            try (Leased.Lease<LoadedBase> auto = pool.acquire(QWEN, ModelDtype.AUTO);
                 Leased.Lease<LoadedBase> named = pool.acquire(QWEN, resolved)) {
                assertThat(named.value()).isSameAs(auto.value());
                assertThat(ModelDtype.of(auto.value().model().halfType())).isEqualTo(resolved);
                assertThat(pool.loaded()).hasSize(1);
            }
        }
    }
}
