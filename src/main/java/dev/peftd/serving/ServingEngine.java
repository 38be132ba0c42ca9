package dev.peftd.serving;

import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tokenizer.Tokenizer;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * Runs requests on shared base models with per-request adapters: each request opens a {@link Session} that holds
 * its base model and (for an adapter) a cache lease, and passes the adapter to generation as the forward pass's
 * hook, so the shared weights are never changed and concurrent requests for different adapters cannot see each
 * other's. A semaphore bounds how many requests compute at once (the rest wait), so a burst of requests does not
 * oversubscribe the device or the CPU threads.
 */
public final class ServingEngine implements AutoCloseable {

    private final BaseModelPool bases;
    private final AdapterCache adapters;
    private final ServingMeters meters;
    private final Semaphore computeSlots;

    public ServingEngine(BaseModelPool bases, AdapterCache adapters, ServingMeters meters, int maxConcurrentRequests) {
        if (maxConcurrentRequests < 1) {
            throw new IllegalArgumentException("max concurrent requests must be >= 1, got " + maxConcurrentRequests);
        }
        this.bases = bases;
        this.adapters = adapters;
        this.meters = meters;
        this.computeSlots = new Semaphore(maxConcurrentRequests, true);
    }

    /**
     * Loads what {@code model} needs (base once, adapter through the cache) and counts the request.
     *
     * @param endpoint {@code completions} or {@code chat.completions}, for the request meter
     */
    public Session open(ServedModel model, String endpoint) {
        LoadedBase base = bases.get(model.baseDir());
        AdapterCache.Lease lease = model.hasAdapter()
                ? adapters.acquire(model.adapterKey(), base, model.adapterFiles()) : null;
        meters.request(endpoint, model.mode());
        return new Session(model, base, lease);
    }

    public BaseModelPool bases() {
        return bases;
    }

    public AdapterCache adapters() {
        return adapters;
    }

    @Override
    public void close() {
        adapters.close();
        bases.close();
    }

    /** One request's view of its model; close it when the response is written. */
    public final class Session implements AutoCloseable {
        private final ServedModel model;
        private final LoadedBase base;
        private final AdapterCache.Lease lease;

        private Session(ServedModel model, LoadedBase base, AdapterCache.Lease lease) {
            this.model = model;
            this.base = base;
            this.lease = lease;
        }

        public ServedModel model() {
            return model;
        }

        public Tokenizer tokenizer() {
            return base.tokenizer();
        }

        public LoadedBase base() {
            return base;
        }

        /** The adapter's hook, or {@code null} for the bare (or merged) base. */
        LinearHook hook() {
            return lease == null ? null : lease.adapter();
        }

        /** Generates, timing the first token and counting tokens; {@code listener} sees each token as it comes. */
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
            GenerationResult result = withSlot(() -> base.generator().generate(promptIds, options, hook(), timed));
            meters.tokensGenerated(model.mode(), result.generatedIds().length);
            return result;
        }

        /** Log-probabilities of the prompt's tokens from the second on, with {@code alternatives} top tokens each. */
        public List<TokenLogprob> promptLogprobs(long[] promptIds, int alternatives) {
            return withSlot(() -> PromptLogprobs.of(base, promptIds, hook(), alternatives));
        }

        private <T> T withSlot(java.util.function.Supplier<T> work) {
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
        }
    }
}
