package dev.peftd.serving;

import dev.peftd.kernel.Settings;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.util.unit.DataSize;
import org.springframework.util.unit.DataUnit;

/**
 * {@code peftd.serving.*}: the serving device (blank: the engine's default), the byte budgets of loaded base models
 * and cached adapters (a bare number is megabytes, as the {@code -mb} names say), the bound on requests computing at
 * once, what one request may cost (tokens, time, prompts and choices), and how long a stream may stay open.
 */
@ConfigurationProperties("peftd.serving")
record ServingProperties(String device,
                         @DataSizeUnit(DataUnit.MEGABYTES) DataSize adapterCacheMb,
                         @DataSizeUnit(DataUnit.MEGABYTES) DataSize baseModelCacheMb,
                         int maxConcurrent, int maxTokensCap, Duration requestTimeout, Duration streamTimeout,
                         int maxPromptsPerRequest, int maxChoicesPerRequest) {

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
    }
}
