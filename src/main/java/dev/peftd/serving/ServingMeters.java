package dev.peftd.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The serving meters, {@code peftd_serving_*} in Prometheus: requests and generated tokens by how the model was
 * served ({@code mode} = base, unmerged adapter, merged checkpoint: the merged-vs-unmerged share is the ratio of
 * these series), time to first token, generations computing now and those ended early, the adapter cache's hits,
 * misses, evictions, load time and bytes, and the base models' bytes and evictions.
 */
final class ServingMeters {

    private final MeterRegistry registry;

    public ServingMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    void request(String endpoint, ServingMode mode) {
        Counter.builder("peftd.serving.requests").description("completion requests served")
                .tag("endpoint", endpoint).tag("mode", mode.tag()).register(registry).increment();
    }

    void tokensGenerated(ServingMode mode, int tokens) {
        Counter.builder("peftd.serving.tokens.generated").description("tokens generated")
                .tag("mode", mode.tag()).register(registry).increment(tokens);
    }

    void timeToFirstToken(ServingMode mode, long nanos) {
        Timer.builder("peftd.serving.time.to.first.token").description("request start to first generated token")
                .tag("mode", mode.tag()).register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    void adapterCacheHit() {
        Counter.builder("peftd.serving.adapter.cache.hits").register(registry).increment();
    }

    void adapterCacheMiss() {
        Counter.builder("peftd.serving.adapter.cache.misses").register(registry).increment();
    }

    void adapterCacheEviction() {
        Counter.builder("peftd.serving.adapter.cache.evictions").register(registry).increment();
    }

    void adapterLoaded(long nanos) {
        Timer.builder("peftd.serving.adapter.load").description("adapter files to device factors (cache miss)")
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    void baseModelLoaded(long nanos) {
        Timer.builder("peftd.serving.base.load").description("base model load onto the serving device")
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    void baseModelEviction() {
        Counter.builder("peftd.serving.base.evictions").description("base models closed to stay within the budget")
                .register(registry).increment();
    }

    void baseModelBytes(LongSupplier bytes) {
        Gauge.builder("peftd.serving.base.bytes", bytes, b -> (double) b.getAsLong())
                .description("parameter bytes of the loaded base models").strongReference(true).register(registry);
    }

    /** Counts generations computing now; the returned counter is what {@code peftd.serving.generations.active} reads. */
    AtomicInteger generationsActive() {
        return registry.gauge("peftd.serving.generations.active", new AtomicInteger());
    }

    /** A generation ended before its own end: {@code client_gone} (stream closed) or {@code timeout}. */
    void generationStopped(String reason) {
        Counter.builder("peftd.serving.generations.stopped").description("generations ended early by the server")
                .tag("reason", reason).register(registry).increment();
    }

    void adapterCacheBytes(LongSupplier bytes) {
        Gauge.builder("peftd.serving.adapter.cache.bytes", bytes, b -> (double) b.getAsLong())
                .description("device bytes held by cached adapters").strongReference(true).register(registry);
    }
}
