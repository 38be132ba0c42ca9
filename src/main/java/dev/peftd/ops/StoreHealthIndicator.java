package dev.peftd.ops;

import dev.peftd.storage.ArtifactStore;
import java.io.IOException;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Readiness includes the object store: a node that cannot write checkpoints should not take traffic. */
@Component("artifactStoreHealthIndicator")
class StoreHealthIndicator implements HealthIndicator {

    private final ArtifactStore store;

    StoreHealthIndicator(ArtifactStore store) {
        this.store = store;
    }

    @Override
    public Health health() {
        try {
            store.probe();
            return Health.up().withDetail("location", store.location()).build();
        } catch (IOException | RuntimeException e) {
            return Health.down().withDetail("location", store.location()).withDetail("error", e.getMessage()).build();
        }
    }
}
