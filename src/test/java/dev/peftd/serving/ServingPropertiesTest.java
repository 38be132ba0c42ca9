package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.SettingsSources;
import dev.peftd.core.generate.PassThreads;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.util.unit.DataSize;

class ServingPropertiesTest {

    private static ServingProperties bind(Map<String, String> env) {
        return SettingsSources.binder(env).bind("peftd.serving", ServingProperties.class).get();
    }

    @Test
    void theDefaultsComeFromApplicationProperties() {
        ServingProperties serving = bind(Map.of());
        assertThat(serving.device()).isEmpty();
        assertThat(serving.adapterCacheMb()).isEqualTo(DataSize.ofMegabytes(1024));
        assertThat(serving.baseModelCacheMb()).isEqualTo(DataSize.ofMegabytes(4096));
        assertThat(serving.maxConcurrent()).isEqualTo(2);
        assertThat(serving.maxTokensCap()).isEqualTo(4096);
        assertThat(serving.requestTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(serving.streamTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(serving.maxPromptsPerRequest()).isEqualTo(ServingFixtures.LIMITS.maxPrompts()).isEqualTo(64);
        assertThat(serving.maxChoicesPerRequest()).isEqualTo(ServingFixtures.LIMITS.maxChoices()).isEqualTo(128);
        assertThat(serving.batch().limits().passThreads().threads()).isEqualTo(PassThreads.AUTO);
    }

    @Test
    void theReadmesVariablesBindAndABareCacheSizeIsMegabytes() {
        ServingProperties serving = bind(Map.of("PEFTD_SERVING_MAX_CONCURRENT", "7",
                "PEFTD_SERVING_ADAPTER_CACHE_MB", "512", "PEFTD_SERVING_BASE_MODEL_CACHE_MB", "2GB",
                "PEFTD_SERVING_STREAM_TIMEOUT", "30s", "PEFTD_SERVING_DEVICE", "cpu",
                "PEFTD_SERVING_MAX_PROMPTS_PER_REQUEST", "16", "PEFTD_SERVING_MAX_CHOICES_PER_REQUEST", "32"));
        assertThat(serving.maxPromptsPerRequest()).isEqualTo(16);
        assertThat(serving.maxChoicesPerRequest()).isEqualTo(32);
        assertThat(serving.maxConcurrent()).isEqualTo(7);
        assertThat(serving.adapterCacheMb().toBytes()).isEqualTo(512L << 20);
        assertThat(serving.baseModelCacheMb().toBytes()).isEqualTo(2L << 30);
        assertThat(serving.streamTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(serving.device()).isEqualTo("cpu");
        assertThat(bind(Map.of("PEFTD_SERVING_BATCH_PASS_THREADS", "2")).batch().limits().passThreads().threads())
                .isEqualTo(2);
    }

    @Test
    void aBadValueStopsStartUpNamingTheProperty() {
        assertThatThrownBy(() -> bind(Map.of("PEFTD_SERVING_MAX_CONCURRENT", "0")))
                .isInstanceOf(BindException.class)
                .hasRootCauseMessage("peftd.serving.max-concurrent must be at least 1, got 0");
        assertThatThrownBy(() -> bind(Map.of("PEFTD_SERVING_REQUEST_TIMEOUT", "0s")))
                .hasRootCauseMessage("peftd.serving.request-timeout must be a positive duration, got PT0S");
        assertThatThrownBy(() -> bind(Map.of("PEFTD_SERVING_MAX_PROMPTS_PER_REQUEST", "0")))
                .hasRootCauseMessage("peftd.serving.max-prompts-per-request must be at least 1, got 0");
        assertThatThrownBy(() -> bind(Map.of("PEFTD_SERVING_BATCH_PASS_THREADS", "all")))
                .hasRootCauseMessage("peftd.serving.batch.pass-threads: give auto or a count of at least 1, got 'all'");
    }

    @Test
    void adapterZipLimitsBindFromTheLimitsGroup() {
        AdapterZipLimits limits = SettingsSources.binder(Map.of("PEFTD_LIMITS_ADAPTER_ZIP_MAX_ENTRIES", "9"))
                .bind("peftd.limits", AdapterZipLimits.class).get();
        assertThat(limits.adapterZipMaxBytes()).isEqualTo(DataSize.ofGigabytes(1));
        assertThat(limits.adapterZipMaxEntries()).isEqualTo(9);
    }
}
