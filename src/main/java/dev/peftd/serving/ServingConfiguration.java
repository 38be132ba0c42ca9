package dev.peftd.serving;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The serving engine of this process: one base-model pool on the serving device ({@code PEFTD_SERVING_DEVICE},
 * default the engine's default device) with its byte budget ({@code PEFTD_SERVING_BASE_MODEL_CACHE_MB}), the adapter
 * cache with its byte budget ({@code PEFTD_SERVING_ADAPTER_CACHE_MB}), the bound on requests computing at once
 * ({@code PEFTD_SERVING_MAX_CONCURRENT}), and what one request may cost ({@code PEFTD_SERVING_MAX_TOKENS_CAP},
 * {@code PEFTD_SERVING_REQUEST_TIMEOUT}, {@code PEFTD_SERVING_MAX_PROMPTS_PER_REQUEST},
 * {@code PEFTD_SERVING_MAX_CHOICES_PER_REQUEST}).
 */
@Configuration(proxyBeanMethods = false)
class ServingConfiguration {

    @Bean
    ServingMeters servingMeters(MeterRegistry registry) {
        return new ServingMeters(registry);
    }

    @Bean(destroyMethod = "close")
    ServingEngine servingEngine(ServingMeters meters, ServingProperties properties) {
        String device = properties.device();
        Device target = device.isBlank() ? Engine.getInstance().defaultDevice() : Device.fromName(device);
        return new ServingEngine(new BaseModelPool(target, meters, properties.baseModelCacheMb().toBytes(),
                properties.batch().limits()),
                new AdapterCache(properties.adapterCacheMb().toBytes(), meters), meters, properties.maxConcurrent(),
                new ServingLimits(properties.maxTokensCap(), properties.requestTimeout()));
    }

    @Bean
    Completions completions(ServingEngine engine, Clock clock, ServingProperties properties) {
        return new Completions(engine, clock, completionLimits(properties));
    }

    @Bean
    ChatCompletions chatCompletions(ServingEngine engine, Clock clock, ServingProperties properties) {
        return new ChatCompletions(engine, clock, completionLimits(properties));
    }

    /** One request's prompts and generations, the same on both endpoints (chat has one prompt). */
    private static CompletionLimits completionLimits(ServingProperties properties) {
        return new CompletionLimits(properties.maxPromptsPerRequest(), properties.maxChoicesPerRequest());
    }

    /** Runs streamed answers off the request thread; the engine's semaphore bounds how many compute at once. */
    @Bean(destroyMethod = "shutdownNow")
    ExecutorService servingStreams() {
        return Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "peftd-serving-stream");
            thread.setDaemon(true);
            return thread;
        });
    }
}
