package dev.peftd.serving;

import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.generate.PassThreads;
import dev.peftd.kernel.Settings;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.util.unit.DataSize;
import org.springframework.util.unit.DataUnit;

/**
 * {@code peftd.serving.*}: the serving device (blank: the engine's default), the byte budgets of loaded base models
 * and cached adapters (a bare number is megabytes, as the {@code -mb} names say), the bound on requests computing at
 * once, what one request may cost (tokens, time, prompts and choices), how long a stream may stay open, and each
 * model's batching limits.
 */
@ConfigurationProperties("peftd.serving")
record ServingProperties(String device,
                         @DataSizeUnit(DataUnit.MEGABYTES) DataSize adapterCacheMb,
                         @DataSizeUnit(DataUnit.MEGABYTES) DataSize baseModelCacheMb,
                         int maxConcurrent, int maxTokensCap, Duration requestTimeout, Duration streamTimeout,
                         int maxPromptsPerRequest, int maxChoicesPerRequest, Batch batch) {

    /**
     * {@code peftd.serving.batch.*}: each loaded model's batching loop.
     *
     * @param maxRows     most sequences in one forward pass ({@code PEFTD_SERVING_BATCH_MAX_ROWS})
     * @param kvCacheMb   the KV cache each loaded model allocates at its first request; a sequence is admitted once
     *                    its prompt plus max_tokens fit the free part ({@code PEFTD_SERVING_BATCH_KV_CACHE_MB})
     * @param passThreads intra-op threads a forward pass computes with: {@code auto} (one for a small pass, all
     *                    configured for a large one, {@link PassThreads}) or a count
     *                    ({@code PEFTD_SERVING_BATCH_PASS_THREADS})
     */
    record Batch(int maxRows, @DataSizeUnit(DataUnit.MEGABYTES) DataSize kvCacheMb, String passThreads) {
        Batch {
            Settings.atLeast(maxRows, 1, "peftd.serving.batch.max-rows");
            Settings.required(kvCacheMb, "peftd.serving.batch.kv-cache-mb");
            Settings.atLeast((int) Math.min(kvCacheMb.toMegabytes(), Integer.MAX_VALUE), 1, "peftd.serving.batch.kv-cache-mb");
            Settings.required(passThreads, "peftd.serving.batch.pass-threads");
            try {
                PassThreads.parse(passThreads);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("peftd.serving.batch.pass-threads: " + e.getMessage()); // the reason is the message
            }
        }

        BatchDecoder.Limits limits() {
            return new BatchDecoder.Limits(maxRows, kvCacheMb.toBytes(), BLOCK_SIZE, PassThreads.parse(passThreads));
        }
    }

    /** Positions per KV-cache block: small enough that a sequence wastes little of its last block. */
    static final int BLOCK_SIZE = 16;

    ServingProperties {
        device = Settings.text(device);
        Settings.required(adapterCacheMb, "peftd.serving.adapter-cache-mb");
        Settings.required(baseModelCacheMb, "peftd.serving.base-model-cache-mb");
        Settings.atLeast(maxConcurrent, 1, "peftd.serving.max-concurrent");
        Settings.atLeast(maxTokensCap, 1, "peftd.serving.max-tokens-cap");
        Settings.positive(requestTimeout, "peftd.serving.request-timeout");
        Settings.positive(streamTimeout, "peftd.serving.stream-timeout");
        Settings.atLeast(maxPromptsPerRequest, 1, "peftd.serving.max-prompts-per-request");
        Settings.atLeast(maxChoicesPerRequest, 1, "peftd.serving.max-choices-per-request");
        Settings.required(batch, "peftd.serving.batch");
    }
}
