package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.Float32CacheModel;
import dev.peftd.core.model.Linear;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.LowRankHook;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.PagedKvCache;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.HalfType;
import dev.peftd.core.tensor.IntraOpThreads;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Continuous batching gives every sequence what it gets alone: 16 sequences over three different adapters and the
 * bare base, with different prompt lengths, sampling and max tokens, joining a running batch and leaving it at
 * different steps, equal (token ids, text, logprobs within 1e-4) the same sequences run alone, and the one-sequence
 * {@link Generator} (whose greedy choice is Java's argmax over the logits, where a batch's greedy rows without
 * logprobs take torch.argmax). The cache is allocated once and never replaced; admission waits for room.
 */
class BatchDecoderTest {

    private static final BatchDecoder.Limits ROOMY = new BatchDecoder.Limits(64, 64L << 20, 4);

    /**
     * A seeded low-rank delta on every linear layer: {@code x·Aᵀ·Bᵀ}, added in place or into a new array; with
     * {@code fusable} it also tells its factors ({@link LowRankHook}), so a batch of them takes the fused path.
     */
    private record RandomDelta(Map<String, NDArray[]> factors, boolean inPlace) implements LinearHook {
        static LinearHook random(CausalLm model, NDManager manager, long seed, boolean inPlace, boolean fusable) {
            Map<String, NDArray[]> factors = new HashMap<>();
            manager.getEngine().setRandomSeed((int) seed);
            for (Map.Entry<String, Linear> e : model.linears().entrySet()) {
                Shape w = e.getValue().weightShape(); // [out, in]
                factors.put(e.getKey(), new NDArray[] {
                        manager.randomNormal(0, 0.2f, new Shape(2, w.get(1)), ai.djl.ndarray.types.DataType.FLOAT32),
                        manager.randomNormal(0, 0.2f, new Shape(w.get(0), 2), ai.djl.ndarray.types.DataType.FLOAT32)});
            }
            RandomDelta delta = new RandomDelta(factors, inPlace);
            return fusable ? new Fusable(delta) : delta;
        }

        @Override
        public NDArray apply(String module, NDArray input, NDArray baseOutput) {
            NDArray[] f = factors.get(module);
            NDArray delta = input.matMul(f[0].transpose()).matMul(f[1].transpose()); // [..., out]
            return inPlace ? baseOutput.addi(delta) : baseOutput.add(delta);
        }
    }

    /** {@link RandomDelta} with its factors told: {@code left = B [out, 2]}, {@code right = A [2, in]}. */
    private record Fusable(RandomDelta delta) implements LowRankHook {
        @Override
        public NDArray apply(String module, NDArray input, NDArray baseOutput) {
            return delta.apply(module, input, baseOutput);
        }

        @Override
        public NDArray[] lowRank(String module) {
            NDArray[] f = delta.factors().get(module);
            return new NDArray[] {f[1], f[0]};
        }
    }

    private record Request(long[] prompt, GenerationOptions options, LinearHook hook) {
    }

    private static List<Request> requests(Tokenizer tokenizer, List<LinearHook> hooks) {
        String[] prompts = {"Once upon a time", "First Citizen:", "the quick brown fox jumps over", "Hello",
            "In a small village by the sea there lived", "A"};
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            GenerationOptions options = GenerationOptions.greedy(6 + 3 * (i % 5)).withLogprobs(3).withStopTokenIds(-1);
            if (i % 4 == 3) {
                options = options.withSampling(0.9, 0.95, OptionalLong.of(100 + i));
            } else if (i % 4 == 1) {
                // greedy without logprobs: the batch hands it torch.argmax, not its logits, next to rows that need them
                options = GenerationOptions.greedy(6 + 3 * (i % 5)).withStopTokenIds(-1);
            }
            requests.add(new Request(tokenizer.encode(prompts[i % prompts.length]), options, hooks.get(i % hooks.size())));
        }
        return requests;
    }

    @ParameterizedTest
    @CsvSource({"tiny-llama, false", "tiny-gpt2, false", "tiny-qwen2, false", "tiny-llama, true", "tiny-gpt2, true"})
    void sixteenSequencesOverFourAdaptersEqualEachAlone(String name, boolean fused) throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tiny(name), Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tiny(name));
             NDManager manager = NDManager.newBaseManager()) {
            List<LinearHook> hooks = new ArrayList<>();
            hooks.add(null);
            for (int a = 0; a < 3; a++) {
                hooks.add(RandomDelta.random(model, manager, 11 + a, a % 2 == 0, fused));
            }
            List<Request> requests = requests(tokenizer, hooks);
            long[] stops = StopTokens.of(model.config(), tokenizer);

            List<GenerationResult> alone = new ArrayList<>();
            try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, stops, ROOMY, BatchObserver.NONE)) {
                for (Request r : requests) {
                    alone.add(decoder.submit(r.prompt, r.options, r.hook, TokenListener.NONE, () -> false)
                            .get(60, TimeUnit.SECONDS));
                }
            }
            Generator generator = new Generator(model, tokenizer);
            for (int i = 0; i < requests.size(); i++) {
                Request r = requests.get(i);
                GenerationResults.assertSame(generator.generate(r.prompt, r.options, r.hook, TokenListener.NONE), alone.get(i), "generator " + i);
            }

            List<Integer> batchSizes = new ArrayList<>();
            BatchObserver observer = new BatchObserver() {
                @Override
                public void step(int rows, boolean prefill) {
                    batchSizes.add(rows);
                }
            };
            try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, stops, ROOMY, observer)) {
                // the first half starts; the second half joins once the first has produced a few tokens
                CountDownLatch running = new CountDownLatch(3);
                List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
                for (int i = 0; i < requests.size(); i++) {
                    if (i == requests.size() / 2) {
                        assertThat(running.await(60, TimeUnit.SECONDS)).isTrue();
                    }
                    Request r = requests.get(i);
                    TokenListener listener = i == 0 ? token -> running.countDown() : TokenListener.NONE;
                    futures.add(decoder.submit(r.prompt, r.options, r.hook, listener, () -> false));
                }
                for (int i = 0; i < requests.size(); i++) {
                    GenerationResults.assertSame(futures.get(i).get(60, TimeUnit.SECONDS), alone.get(i), "batched " + i);
                }
                PagedKvCache cache = decoder.cache();
                assertThat(cache.freeBlocks()).isEqualTo(cache.capacityBlocks());
            }
            assertThat(batchSizes).as("steps batched several sequences").anyMatch(rows -> rows >= 8);
        }
    }

    /**
     * A bf16 base batches too (activations half-exact in float32, the KV cache bf16, the masked attention in
     * float32 from half q/k/v, rounded once). A one-row decode step runs the half GEMM while a batch runs the float32
     * GEMM on the upcast weight, so batch and alone agree to bf16 rounding, not to 1e-4. With three adapters and the
     * bare base over the rows, each half block of a batch adds the rows' deltas inside its fused calls
     * ({@code GroupedHook.rowFactorStacks}) while a request alone runs its adapter op by op, to the same rounding.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aHalfBaseBatchesWithTheSameGreedyTokens(boolean adapters) throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama());
             NDManager manager = NDManager.newBaseManager()) {
            List<LinearHook> hooks = new ArrayList<>();
            hooks.add(null);
            for (int a = 0; adapters && a < 3; a++) {
                hooks.add(RandomDelta.random(model, manager, 21 + a, false, true)); // a half output: not in place
            }
            List<Request> requests = requests(tokenizer, hooks).subList(0, 8).stream() // logprobs: the near-tie check
                    .map(r -> new Request(r.prompt(), r.options().withSampling(0, 1, OptionalLong.empty()).withLogprobs(3),
                            r.hook())).toList();
            int compared = 0;
            try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, new long[0], ROOMY, BatchObserver.NONE)) {
                List<GenerationResult> alone = new ArrayList<>();
                for (Request r : requests) {
                    alone.add(decoder.submit(r.prompt, r.options, r.hook,
                            TokenListener.NONE, () -> false).get(60, TimeUnit.SECONDS));
                }
                List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
                for (Request r : requests) {
                    futures.add(decoder.submit(r.prompt, r.options, r.hook,
                            TokenListener.NONE, () -> false));
                }
                for (int i = 0; i < requests.size(); i++) {
                    GenerationResult batched = futures.get(i).get(60, TimeUnit.SECONDS);
                    compared += assertSameUpToANearTie(alone.get(i), batched, "request " + i);
                }
                assertThat(compared).as("tokens compared before any near tie").isGreaterThanOrEqualTo(40);
            }
        }
    }

    /** How far apart two bf16 runs' logprobs of one token may be: bf16 rounding of the logits. */
    private static final double HALF_LOGPROB_TOLERANCE = 0.05;

    /**
     * The batched run's tokens and logprobs equal the alone run's within {@link #HALF_LOGPROB_TOLERANCE} up to the end,
     * or up to a step where the two greedy choices differ; there the alone run's own logprobs of both tokens must be
     * that close (a near tie, which bf16 rounding may break either way), and the runs are not compared further.
     *
     * @return the tokens compared
     */
    private static int assertSameUpToANearTie(GenerationResult alone, GenerationResult batched, String label) {
        long[] expected = alone.generatedIds();
        long[] actual = batched.generatedIds();
        int t = 0;
        for (; t < Math.min(expected.length, actual.length) && expected[t] == actual[t]; t++) {
            assertThat(batched.logprobs().get(t).logprob()).as(label + " token " + t)
                    .isCloseTo(alone.logprobs().get(t).logprob(), within(HALF_LOGPROB_TOLERANCE));
        }
        if (t < Math.min(expected.length, actual.length)) {
            long other = actual[t];
            TokenLogprob step = alone.logprobs().get(t);
            double otherLogprob = step.top().stream().filter(a -> a.tokenId() == other)
                    .mapToDouble(TokenLogprob.Alternative::logprob).findFirst().orElse(Double.NEGATIVE_INFINITY);
            assertThat(step.logprob() - otherLogprob).as(label + ": the choices part at token " + t
                    + " only on a near tie").isLessThan(HALF_LOGPROB_TOLERANCE);
        } else {
            assertThat(actual).as(label).hasSameSizeAs(expected);
        }
        return t;
    }

    /**
     * A half base's paged cache holds its keys and values in the half type; being half values already, they come
     * back exactly: the same 16 sequences (greedy with and without logprobs, sampled), batched, give the float32
     * cache's token ids, text and logprobs (top alternatives included) bit for bit.
     */
    @ParameterizedTest
    @CsvSource({"tiny-llama, BFLOAT16", "tiny-gpt2, BFLOAT16", "tiny-qwen2, BFLOAT16", "tiny-llama, FLOAT16"})
    void aHalfCacheGivesTheFloat32CachesTokensAndLogprobsExactly(String name, ModelDtype dtype) throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tiny(name), Device.cpu(), dtype);
             Float32CacheModel float32Cache = new Float32CacheModel(model, Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tiny(name))) {
            assertThat(model.halfType()).isNotNull();
            List<Request> requests = requests(tokenizer, java.util.Collections.singletonList(null));
            List<GenerationResult> half = generateBatched(model, tokenizer, requests);
            List<GenerationResult> float32 = generateBatched(float32Cache, tokenizer, requests);
            for (int i = 0; i < requests.size(); i++) {
                GenerationResult h = half.get(i);
                GenerationResult f = float32.get(i);
                assertThat(h.generatedIds()).as("request " + i).containsExactly(f.generatedIds());
                assertThat(h.text()).isEqualTo(f.text());
                assertThat(h.logprobs()).as("request " + i + ": logprobs and alternatives, exactly").isEqualTo(f.logprobs());
            }
        }
    }

    private static List<GenerationResult> generateBatched(CausalLm model, Tokenizer tokenizer, List<Request> requests)
            throws Exception {
        try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, new long[0], ROOMY, BatchObserver.NONE)) {
            // all queued at once: the same batch compositions on every run, whatever the threads' timing (a row's
            // GEMM result may depend on the batch size, and this method's caller compares two runs bit for bit)
            List<CompletableFuture<GenerationResult>> futures = decoder.submitAll(requests.stream()
                    .map(r -> new BatchDecoder.Submission(r.prompt, r.options, r.hook, TokenListener.NONE, () -> false))
                    .toList());
            List<GenerationResult> results = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : futures) {
                results.add(f.get(60, TimeUnit.SECONDS));
            }
            return results;
        }
    }

    /** A batch of submissions is checked whole before any of it is queued: a bad prompt anywhere queues nothing. */
    /**
     * The loop computes each pass with its {@link PassThreads}: a given count on every token's pass, and with
     * {@code auto} one thread for this tiny model's passes; the thread that submitted keeps its own count.
     */
    @Test
    void theLoopComputesEachPassWithItsPassThreads() throws Exception {
        int all = IntraOpThreads.processDefault();
        int other = all == 1 ? 2 : 1;
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu())) {
            long[] prompt = {1, 5, 9, 13};
            for (PassThreads threads : List.of(new PassThreads(other), PassThreads.BY_SIZE)) {
                List<Integer> seen = java.util.Collections.synchronizedList(new ArrayList<>());
                BatchDecoder.Limits limits = new BatchDecoder.Limits(8, 8L << 20, 4, threads);
                try (BatchDecoder decoder = new BatchDecoder(model, null, new long[0], limits, BatchObserver.NONE)) {
                    decoder.submit(prompt, GenerationOptions.greedy(4), null,
                            token -> seen.add(IntraOpThreads.ofThisThread()), () -> false).get(60, TimeUnit.SECONDS);
                }
                int expected = threads.threads() == PassThreads.AUTO ? 1 : other;
                assertThat(seen).as("%s", threads).hasSize(4).containsOnly(expected);
            }
        }
    }

    @Test
    void submitAllQueuesNothingWhenAnySubmissionIsBad() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             BatchDecoder decoder = new BatchDecoder(model, null, new long[0], ROOMY, BatchObserver.NONE)) {
            GenerationOptions options = GenerationOptions.greedy(4).withStopTokenIds(-1);
            BatchDecoder.Submission good = new BatchDecoder.Submission(new long[] {1, 5, 9}, options, null,
                    TokenListener.NONE, () -> false);
            BatchDecoder.Submission empty = new BatchDecoder.Submission(new long[0], options, null,
                    TokenListener.NONE, () -> false);
            assertThrows(IllegalArgumentException.class, () -> decoder.submitAll(List.of(good, empty)));
            assertThat(decoder.cache()).as("the loop never started: nothing was queued").isNull();
            List<CompletableFuture<GenerationResult>> futures = decoder.submitAll(List.of(good, good));
            assertThat(futures).hasSize(2);
            assertThat(futures.get(0).get(60, TimeUnit.SECONDS).generatedIds())
                    .containsExactly(futures.get(1).get(60, TimeUnit.SECONDS).generatedIds());
        }
    }

    /** The budget charges a half cache 2 bytes a value: the same bytes hold twice the positions of a float32 model's. */
    @Test
    void aHalfModelsCacheHoldsTwiceThePositionsForTheSameBudget() throws Exception {
        try (CausalLm float32 = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             CausalLm bf16 = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            long perPosition = PagedKvCache.bytesPerPosition(float32.config(), null);
            BatchDecoder.Limits limits = new BatchDecoder.Limits(8, perPosition * 64, 4); // 64 float32 positions
            try (BatchDecoder full = new BatchDecoder(float32, tokenizer, new long[0], limits, BatchObserver.NONE);
                 BatchDecoder half = new BatchDecoder(bf16, tokenizer, new long[0], limits, BatchObserver.NONE)) {
                assertThat(full.capacityPositions()).isEqualTo(64);
                assertThat(half.capacityPositions()).isEqualTo(128);
                assertThat(half.cacheBytes()).as("what the pool charges: the same bytes, padding block aside")
                        .isEqualTo(PagedKvCache.bytes(bf16.config(), HalfType.BFLOAT16, 32, 4))
                        .isEqualTo(full.cacheBytes() - perPosition * 4 / 2);
                long[] prompt = tokenizer.encode("First Citizen:");
                // a sequence of 100 positions: more than the float32 model's cache, within the bf16 one's
                GenerationOptions options = GenerationOptions.greedy(100 - prompt.length).withStopTokenIds(-1);
                assertThatThrownBy(() -> full.submit(prompt, options, null, TokenListener.NONE, () -> false))
                        .isInstanceOf(CacheBudgetException.class);
                assertThat(half.submit(prompt, options, null, TokenListener.NONE, () -> false).get(60, TimeUnit.SECONDS)
                        .generatedIds()).hasSize(100 - prompt.length);
                assertThat(half.cache().bytes()).as("the storage really is that size").isEqualTo(half.cacheBytes());
            }
        }
    }

    @Test
    void theCacheIsAllocatedOnceAndAdmissionWaitsForRoom() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            long[] prompt = tokenizer.encode("First Citizen:");
            GenerationOptions options = GenerationOptions.greedy(12).withStopTokenIds(-1);
            int positions = prompt.length + 12;
            // room for one such sequence only (blocks of 4 positions)
            long bytes = PagedKvCache.bytesPerPosition(model.config(), null) * ((positions + 3) / 4 * 4);
            List<Long> waits = new ArrayList<>();
            BatchObserver observer = new BatchObserver() {
                @Override
                public void admitted(long nanos) {
                    waits.add(nanos);
                }
            };
            try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, new long[0],
                    new BatchDecoder.Limits(8, bytes, 4), observer)) {
                assertThat(decoder.capacityPositions()).isLessThan(2 * positions);
                GenerationResult alone = decoder.submit(prompt, options, null, TokenListener.NONE, () -> false).get();
                PagedKvCache cache = decoder.cache();
                Object storage = cache.keyStorage(0);
                Shape shape = cache.storageShape();

                CountDownLatch firstTokenSeen = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                TokenListener holdFirst = token -> {
                    if (token.index() == 0) {
                        firstTokenSeen.countDown();
                        await(release);
                    }
                };
                List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
                futures.add(decoder.submit(prompt, options, null, holdFirst, () -> false));
                assertThat(firstTokenSeen.await(30, TimeUnit.SECONDS)).isTrue();
                futures.add(decoder.submit(prompt, options, null, TokenListener.NONE, () -> false));
                futures.add(decoder.submit(prompt, options, null, TokenListener.NONE, () -> false));
                assertThat(decoder.waiting()).as("no room: both wait, nothing fails").isEqualTo(2);
                release.countDown();
                for (CompletableFuture<GenerationResult> f : futures) {
                    assertThat(f.get(60, TimeUnit.SECONDS).generatedIds()).containsExactly(alone.generatedIds());
                }
                assertThat(cache.keyStorage(0)).as("the same storage, never concatenated or replaced").isSameAs(storage);
                assertThat(cache.storageShape()).isEqualTo(shape);
                assertThat(decoder.cache()).isSameAs(cache);
                assertThat(waits).hasSize(4);

                long[] tooLong = new long[decoder.capacityPositions()];
                assertThatThrownBy(() -> decoder.submit(tooLong, GenerationOptions.greedy(1), null,
                        TokenListener.NONE, () -> false))
                        .isInstanceOf(CacheBudgetException.class)
                        .hasMessageContaining("need " + (tooLong.length + 1) + " KV-cache positions");
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aFailedForwardPassEndsItsRowsAndTheLoopGoesOn() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            long[] prompt = tokenizer.encode("Hello");
            GenerationOptions options = GenerationOptions.greedy(10).withStopTokenIds(-1);
            LinearHook broken = (module, input, base) -> {
                throw new IllegalStateException("broken adapter");
            };
            try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, new long[0], ROOMY, BatchObserver.NONE)) {
                assertThatThrownBy(() -> decoder.submit(prompt, options, broken, TokenListener.NONE, () -> false)
                        .get(30, TimeUnit.SECONDS)).hasRootCauseMessage("broken adapter");
                assertThat(decoder.submit(prompt, options, null, TokenListener.NONE, () -> false)
                        .get(30, TimeUnit.SECONDS).generatedIds()).hasSize(10);
                assertThat(decoder.cache().freeBlocks()).isEqualTo(decoder.cache().capacityBlocks());
            }
        }
    }

    @Test
    void aListenerThatThrowsEndsOnlyItsOwnSequence() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            long[] prompt = tokenizer.encode("Hello");
            GenerationOptions options = GenerationOptions.greedy(10).withStopTokenIds(-1);
            try (BatchDecoder decoder = new BatchDecoder(model, tokenizer, new long[0], ROOMY, BatchObserver.NONE)) {
                CompletableFuture<GenerationResult> failing = decoder.submit(prompt, options, null, token -> {
                    if (token.index() == 2) {
                        throw new IllegalStateException("client gone");
                    }
                }, () -> false);
                CompletableFuture<GenerationResult> other = decoder.submit(prompt, options, null, TokenListener.NONE,
                        () -> false);
                assertThatThrownBy(() -> failing.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
                assertThat(other.get(30, TimeUnit.SECONDS).generatedIds()).hasSize(10);
                int[] calls = {0};
                GenerationResult stopped = decoder.submit(prompt, options, null, TokenListener.NONE,
                        () -> ++calls[0] > 4).get(30, TimeUnit.SECONDS);
                assertThat(stopped.generatedIds()).hasSize(4);
                assertThat(stopped.finishReason()).isEqualTo(FinishReason.LENGTH);
            }
        }
    }
}
