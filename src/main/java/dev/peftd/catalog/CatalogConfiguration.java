package dev.peftd.catalog;

import dev.peftd.core.hub.HubClient;
import dev.peftd.core.hub.HubSettings;
import dev.peftd.kernel.DataDirectory;
import dev.peftd.security.ConfiguredTenants;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

@Configuration(proxyBeanMethods = false)
class CatalogConfiguration {

    /**
     * The Hub client of the core for {@code hf://} sources: {@code HF_ENDPOINT} and {@code HF_TOKEN} as everywhere,
     * the download cache in {@code <data dir>/hub} unless {@code PEFTD_HUB_CACHE} names another.
     */
    @Bean
    HubClient hubClient(CatalogProperties properties, DataDirectory dataDirectory) {
        String endpoint = properties.hub().endpoint();
        HubSettings env = HubSettings.fromEnvironment();
        URI uri = endpoint.isBlank() ? env.endpoint() : URI.create(endpoint);
        Path cache = System.getenv("PEFTD_HUB_CACHE") != null ? env.cacheDirectory() : dataDirectory.resolve("hub");
        return new HubClient(new HubSettings(uri, env.token(), cache));
    }

    /**
     * What {@code file://} sources may read: {@code PEFTD_MODEL_ROOTS}, never the data directory; with several
     * tenants only the roots.
     */
    @Bean
    LocalModelFolders localModelFolders(DataDirectory dataDirectory, CatalogProperties properties,
            ConfiguredTenants tenants) {
        return new LocalModelFolders(dataDirectory.root(), LocalModelFolders.parseRoots(properties.models().roots()),
                tenants.multiTenant());
    }

    /** One thread: model downloads and checks are I/O- and memory-heavy; doing them one at a time is kinder. */
    @Bean
    Executor modelLoadingExecutor() {
        ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
        executor.setCorePoolSize(1);
        executor.setMaxPoolSize(1);
        executor.setThreadNamePrefix("model-loading-");
        executor.setWaitForTasksToCompleteOnShutdown(false);
        executor.initialize();
        return executor;
    }
}
