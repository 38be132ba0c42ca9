package dev.peftd.ops;

import dev.peftd.kernel.Settings;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param dbLivenessGrace  how long the database may be unreachable before liveness goes DOWN
 * @param dbCheckInterval  how often {@link DatabaseLiveness} probes it (read by its {@code @Scheduled}; bound here so a
 *                         bad value stops start-up with its name)
 */
@ConfigurationProperties("peftd.health")
record HealthProperties(Duration dbLivenessGrace, Duration dbCheckInterval) {

    HealthProperties {
        Settings.required(dbLivenessGrace, "peftd.health.db-liveness-grace");
        Settings.positive(dbCheckInterval, "peftd.health.db-check-interval");
    }
}
