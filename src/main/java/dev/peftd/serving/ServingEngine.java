package dev.peftd.serving;

import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.SequenceScorer;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tokenizer.Tokenizer;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Runs requests on shared base models with per-request adapters: each request opens a {@link Session} that holds
 * its base model and (for an adapter) a cache lease, and passes the adapter to generation as the forward pass's
 * hook, so the shared weights are never changed and concurrent requests for different adapters cannot see each
 * other's. A semaphore bounds how many requests compute at once (the rest wait), so a burst of requests does not
 * oversubscribe the device or the CPU threads. Every generation is bounded: by {@link TokenBudget} (the max_tokens
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
         * Generates, timing the first token and counting tokens; {@code listener} sees each token as it comes. Stops
         * early when {@link #cancel cancelled} or when it has computed for the request timeout. A listener that
         * throws {@link ClientGoneException} ends it too, and the exception propagates.
         */
        public GenerationResult generate(long[] promptIds, GenerationOptions options, TokenListener listener) {
            long start = System.nanoTime();
            boolean[] first = {true};
            TokenListener timed = (GeneratedToken token) -> {
                if (first[0]) {
                    first[0] = false;
                    meters.timeToFirstToken(model.mode(), System.nanoTime() - start);
                }
                listener.onToken(token);
            };
            return withSlot(() -> {
                long deadline = System.nanoTime() + requestTimeoutNanos;
                boolean[] timedOut = {false};
                BooleanSupplier stop = () -> cancelled || (timedOut[0] = System.nanoTime() - deadline > 0);
                generating.incrementAndGet();
                try {
                    GenerationResult result = base().generator().generate(promptIds, options, hook(), timed, stop);
                    meters.tokensGenerated(model.mode(), result.generatedIds().length);
                    if (cancelled || timedOut[0]) {
                        meters.generationStopped(cancelled ? "client_gone" : "timeout");
                    }
                    return result;
                } catch (ClientGoneException e) {
                    meters.generationStopped("client_gone");
                    throw e;
                } finally {
                    generating.decrementAndGet();
                }
            });
        }

        /** Log-probabilities of the prompt's tokens from the second on, with {@code alternatives} top tokens each. */
        public List<TokenLogprob> promptLogprobs(long[] promptIds, int alternatives) {
            return withSlot(() -> new SequenceScorer(base().model())
                    .tokenLogprobs(promptIds, hook(), alternatives, tokenizer()::tokenText));
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
