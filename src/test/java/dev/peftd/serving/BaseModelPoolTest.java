package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.LiveArrays;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.TestModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Base models within a memory budget: least recently used ones are closed (and their native arrays freed) once the
 * budget is passed, never one a request holds; one model larger than the budget is still served.
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
            llamaBytes = probe.get(LLAMA).model().parameterBytes();
            llamaArrays = LiveArrays.count() - before;
            qwenBytes = probe.get(QWEN).model().parameterBytes();
            int beforeMistral = LiveArrays.count();
            mistralBytes = probe.get(MISTRAL).model().parameterBytes();
            mistralArrays = LiveArrays.count() - beforeMistral;
        }
        assertThat(llamaBytes).as("float32 weights of the tiny Llama").isGreaterThan(400_000);
    }

    @Test
    void loadingAThirdModelEvictsTheLeastRecentlyUsedAndFreesItsArrays() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        int before = LiveArrays.count();
        try (BaseModelPool pool = new BaseModelPool(Engine.getInstance().defaultDevice(), new ServingMeters(registry),
                llamaBytes + qwenBytes + Math.min(llamaBytes, mistralBytes) / 2)) { // two fit, three do not
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
    void aModelInUseIsNeverEvictedAndGoesOnceItsLastRequestEnds() {
        try (BaseModelPool pool = pool(1)) { // a budget no model fits
            try (Leased.Lease<LoadedBase> held = pool.acquire(LLAMA)) {
                pool.acquire(QWEN).close();
                pool.acquire(MISTRAL).close(); // evicts Qwen, the only unused model that is not the newest
                assertThat(pool.loaded()).containsExactly(LLAMA.toAbsolutePath().normalize(),
                        MISTRAL.toAbsolutePath().normalize());
                assertThat(pool.usedBytes()).as("over budget while Llama is in use").isEqualTo(llamaBytes + mistralBytes);
                assertThat(held.value().generator().generate(new long[] {1, 17, 42}, GenerationOptions.greedy(3))
                        .generatedIds()).isNotEmpty(); // its weights are all still there
            }
            assertThat(pool.loaded()).as("released: the pool falls back within its budget as far as it can")
                    .containsExactly(MISTRAL.toAbsolutePath().normalize());
        }
    }

    @Test
    void aModelLargerThanTheBudgetIsStillServedAlone() {
        try (BaseModelPool pool = pool(llamaBytes / 2)) {
            LoadedBase llama = pool.get(LLAMA);
            assertThat(llama.generator().generate(new long[] {1, 17}, GenerationOptions.greedy(2)).generatedIds())
                    .hasSize(2);
            assertThat(pool.loaded()).as("kept: reloading it for every request would be worse")
                    .containsExactly(LLAMA.toAbsolutePath().normalize());
            pool.get(QWEN);
            assertThat(pool.loaded()).containsExactly(QWEN.toAbsolutePath().normalize());
        }
    }

    private static BaseModelPool pool(long budgetBytes) {
        return new BaseModelPool(Engine.getInstance().defaultDevice(), new ServingMeters(new SimpleMeterRegistry()),
                budgetBytes);
    }

    /** The budget counts what a half base really holds: 2 bytes a weight, half the float32 load of the same files. */
    @Test
    void aBfloat16BaseCountsHalfTheBytesAndLoadsBesideTheFloat32One() {
        try (BaseModelPool pool = pool(Long.MAX_VALUE)) {
            long float32 = pool.get(LLAMA).model().parameterBytes();
            try (Leased.Lease<LoadedBase> half = pool.acquire(LLAMA, ModelDtype.BFLOAT16)) {
                assertThat(half.value().model().linears().get("model.layers.0.self_attn.q_proj").halfPrecision()).isTrue();
                long bytes = half.value().model().parameterBytes();
                // the weights in 2 bytes each, plus a few scalar constants (was 8 bytes: bf16 counted as 0)
                assertThat(bytes).isBetween(float32 / 2, float32 / 2 + 16);
                assertThat(pool.usedBytes()).isEqualTo(float32 + bytes);
                assertThat(pool.loaded()).hasSize(2);
            }
            pool.unload(LLAMA);
            assertThat(pool.usedBytes()).as("unloading a directory frees it in every dtype").isZero();
        }
    }
}
