package dev.peftd.serving;

import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.BatchScorer;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Runs requests on shared base models with per-request adapters: each request opens a {@link Session} that holds
 * its base model and (for an adapter) a cache lease, and passes the adapter to generation as its rows' hook, so the
 * shared weights are never changed and concurrent requests for different adapters cannot see each other's. Every
 * generation runs in its base model's {@link BatchDecoder} (one loop thread per loaded model): requests for any
 * adapters on that base share each forward pass, joining and leaving at token boundaries, bounded by the batch's
 * rows and KV-cache budget (the rest wait for admission). A request's prompt scoring ({@code echo} with logprobs)
 * runs its prompts several per pass within the same rows and memory budget; a semaphore bounds how many requests
 * score at once. Every generation is bounded: by {@link TokenBudget} (the max_tokens
 * cap and the model's context) and by the request timeout, and it ends early when its session is cancelled.
 */
final class ServingEngine implements AutoCloseable {

    private final BaseModelPool bases;
    private final AdapterCache adapters;
    private final ServingMeters meters;
    private final Semaphore computeSlots;
    private final TokenBudget budget;
    private final long requestTimeoutNanos;
    private final AtomicInteger generating;

    /** What {@link Session#generate}'s queue gets after the last token. */
    private static final Object DONE = new Object();

    /** Batching limits for callers without settings (tests, the benchmarks): 64 rows, a 256 MB KV cache. */
    static final BatchDecoder.Limits DEFAULT_BATCH = new BatchDecoder.Limits(64, 256L << 20, ServingProperties.BLOCK_SIZE);

    public ServingEngine(BaseModelPool bases, AdapterCache adapters, ServingMeters meters, int maxConcurrentRequests) {
        this(bases, adapters, meters, maxConcurrentRequests, ServingLimits.DEFAULTS);
    }

    public ServingEngine(BaseModelPool bases, AdapterCache adapters, ServingMeters meters, int maxConcurrentRequests,
                         ServingLimits limits) {
        if (maxConcurrentRequests < 1) {
            throw new IllegalArgumentException("max concurrent requests must be >= 1, got " + maxConcurrentRequests);
        }
        this.bases = bases;
        this.adapters = adapters;
        this.meters = meters;
        this.computeSlots = new Semaphore(maxConcurrentRequests, true);
        this.budget = new TokenBudget(limits.maxTokensCap());
        this.requestTimeoutNanos = limits.requestTimeout().toNanos();
        this.generating = meters.generationsActive();
    }

    /**
     * Loads what {@code model} needs (base once, adapter through the cache) and counts the request.
     *
     * @param endpoint {@code completions} or {@code chat.completions}, for the request meter
     */
    public Session open(ServedModel model, String endpoint) {
        Leased.Lease<LoadedBase> base = bases.acquire(model.baseDir(), model.dtype());
        try {
            Leased.Lease<FactoredAdapter> lease = model.hasAdapter()
                    ? adapters.acquire(model.adapterKey(), base.value(), model.adapterFiles()) : null;
            meters.request(endpoint, model.mode());
            return new Session(model, base, lease);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    public BaseModelPool bases() {
        return bases;
    }

    public AdapterCache adapters() {
        return adapters;
    }

    /** The max_tokens checks that need no model (the server's cap), for a request's first look. */
    TokenBudget tokenBudget() {
        return budget;
    }

    /** Generations computing right now. */
    public int generating() {
        return generating.get();
    }

    @Override
    public void close() {
        adapters.close();
        bases.close();
    }

    /** One sequence a session generates: its prompt, options and the listener that hears its tokens. */
    public record Generation(long[] promptIds, GenerationOptions options, TokenListener listener) {
    }

    /** One request's view of its model; close it when the response is written. */
    public final class Session implements AutoCloseable {
        private final ServedModel model;
        private final Leased.Lease<LoadedBase> base;
        private final Leased.Lease<FactoredAdapter> lease;
        private volatile boolean cancelled;

        private Session(ServedModel model, Leased.Lease<LoadedBase> base, Leased.Lease<FactoredAdapter> lease) {
            this.model = model;
            this.base = base;
            this.lease = lease;
        }

        public ServedModel model() {
            return model;
        }

        public Tokenizer tokenizer() {
            return base.value().tokenizer();
        }

        public LoadedBase base() {
            return base.value();
        }

        /** The adapter's hook, or {@code null} for the bare (or merged) base. */
        LinearHook hook() {
            return lease == null ? null : lease.value();
        }

        /**
         * How many tokens this request may generate after {@code promptTokens}: {@link TokenBudget} with this
         * model's context length; a 400 naming the field when they do not fit.
         */
        int maxTokens(int promptTokens, Integer requested, int defaultTokens, TokenBudget.Fields fields) {
            return budget.maxTokens(base().model().config().maxPositionEmbeddings(), promptTokens, requested,
                    defaultTokens, fields);
        }

        /** Ends the generation at its next token (the client went away); what was generated stays the result. */
        public void cancel() {
            cancelled = true;
        }

        /**
         * Generates on the calling thread's behalf: the sequence joins its model's running batch
         * ({@link #submit}) and this call waits for it, handing {@code listener} each token on the calling thread
         * (so a slow client never holds up the batch). Stops early when {@link #cancel cancelled} or when it has
         * computed for the request timeout. A listener that throws {@link ClientGoneException} ends this sequence
         * only, and the exception propagates.
         *
         * @throws IllegalArgumentException a bad prompt, or one (with its max tokens) larger than the whole KV cache
         */
        public GenerationResult generate(long[] promptIds, GenerationOptions options, TokenListener listener) {
            BlockingQueue<Object> events = new LinkedBlockingQueue<>();
            CompletableFuture<GenerationResult> future = submit(promptIds, options, events::add);
            future.whenComplete((result, error) -> events.add(DONE));
            try {
                for (Object event = events.take(); event != DONE; event = events.take()) {
                    listener.onToken((GeneratedToken) event);
                }
                return future.join();
            } catch (ClientGoneException e) {
                cancel();
                throw e;
            } catch (InterruptedException e) {
                cancel();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while generating", e);
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException cause ? cause : e;
            }
        }

        /**
         * Queues a sequence into its model's batching loop and returns at once; keep the session open until the
         * future completes. Several submissions of one session (a prompt list, {@code n} choices) run as rows of the
         * same batch. {@code listener} runs on the loop's thread: it must not block (the whole batch waits for it);
         * if it throws (e.g. {@link ClientGoneException}) only this sequence ends, with that exception.
         * {@link #cancel} and the request timeout (counted from admission) end every sequence of the session.
         *
         * @throws IllegalArgumentException a bad prompt, or one (with its max tokens) larger than the whole KV cache
         */
        public CompletableFuture<GenerationResult> submit(long[] promptIds, GenerationOptions options,
                                                          TokenListener listener) {
            return submitAll(List.of(new Generation(promptIds, options, listener))).get(0);
        }

        /**
         * {@link #submit} for several sequences at once: the batch's loop admits them together (room allowing, one
         * prefill), and all are checked before any is queued.
         *
         * @return one future per generation, in order
         * @throws IllegalArgumentException any bad prompt, or one (with its max tokens) larger than the whole KV cache
         */
        public List<CompletableFuture<GenerationResult>> submitAll(List<Generation> generations) {
            List<Watch> watches = generations.stream().map(g -> new Watch(g.listener())).toList();
            List<BatchDecoder.Submission> submissions = new ArrayList<>(generations.size());
            for (int i = 0; i < generations.size(); i++) {
                Generation g = generations.get(i);
                submissions.add(new BatchDecoder.Submission(g.promptIds(), g.options(), hook(), watches.get(i)::onToken,
                        watches.get(i)::stopRequested));
            }
            List<CompletableFuture<GenerationResult>> futures = base().decoder().submitAll(submissions);
            List<CompletableFuture<GenerationResult>> watched = new ArrayList<>(futures.size());
            for (int i = 0; i < futures.size(); i++) {
                generating.incrementAndGet();
                watched.add(futures.get(i).whenComplete(watches.get(i)::completed));
            }
            return watched;
        }

        /**
         * One sequence's meters and stop conditions: its time to first token, the request timeout counted from its
         * admission, the session's cancellation, and how it ended.
         */
        private final class Watch {
            private final long start = System.nanoTime();
            private final TokenListener listener;
            private boolean first = true;
            private long deadline;           // 0 until admission
            private volatile boolean timedOut;

            Watch(TokenListener listener) {
                this.listener = listener;
            }

            void onToken(GeneratedToken token) {
                if (first) {
                    first = false;
                    meters.timeToFirstToken(model.mode(), System.nanoTime() - start);
                }
                listener.onToken(token);
            }

            boolean stopRequested() {
                if (deadline == 0) {
                    deadline = System.nanoTime() + requestTimeoutNanos; // first asked at admission
                }
                return cancelled || (timedOut = System.nanoTime() - deadline > 0);
            }

            void completed(GenerationResult result, Throwable error) {
                if (result != null) {
                    meters.tokensGenerated(model.mode(), result.generatedIds().length);
                }
                if (error instanceof ClientGoneException || cancelled) {
                    meters.generationStopped("client_gone");
                } else if (timedOut) {
                    meters.generationStopped("timeout");
                }
                // last: whoever sees the count drop (a drain, a test) sees this generation's meters already counted
                generating.decrementAndGet();
            }
        }

        /** One sequence per forward pass, as before batching: only for the benchmark's comparison. */
        GenerationResult generateUnbatched(long[] promptIds, GenerationOptions options, TokenListener listener) {
            return withSlot(() -> base().generator().generate(promptIds, options, hook(), listener, () -> cancelled));
        }

        /**
         * Log-probabilities of each prompt's tokens from the second on, prompt {@code i} with {@code alternatives[i]}
         * top tokens each: several prompts per forward pass, within the batch's rows and memory ({@link BatchScorer}),
         * the passes run in one compute slot.
         */
        public List<List<TokenLogprob>> promptLogprobs(List<long[]> prompts, int[] alternatives) {
            List<BatchScorer.Item> items = new ArrayList<>(prompts.size());
            for (int i = 0; i < prompts.size(); i++) {
                items.add(new BatchScorer.Item(prompts.get(i), hook(), alternatives[i]));
            }
            return withSlot(() -> base().scorer().tokenLogprobs(items, tokenizer()::tokenText));
        }

        private <T> T withSlot(Supplier<T> work) {
            try {
                computeSlots.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a compute slot", e);
            }
            try {
                return work.get();
            } finally {
                computeSlots.release();
            }
        }

        @Override
        public void close() {
            if (lease != null) {
                lease.close();
            }
            base.close();
        }
    }
}
