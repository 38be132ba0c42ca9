package dev.peftd.ops;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Liveness follows the database: readiness already goes DOWN with it (the {@code db} indicator), but a process whose
 * database is gone for good (the embedded server was stopped under it, a failover left it on a dead host) never
 * heals by itself, so after {@code PEFTD_HEALTH_DB_LIVENESS_GRACE} without a connection it reports liveness BROKEN
 * and the orchestrator restarts it. A short outage only takes readiness down; liveness comes back with the database.
 */
@Component
class DatabaseLiveness {

    private static final Logger log = LoggerFactory.getLogger(DatabaseLiveness.class);
    private static final int VALIDATION_TIMEOUT_SECONDS = 2;

    private final DataSource dataSource;
    private final ApplicationEventPublisher events;
    private final Clock clock;
    private final Duration grace;
    private Instant unreachableSince;
    private boolean broken;

    DatabaseLiveness(DataSource dataSource, ApplicationEventPublisher events, Clock clock,
            HealthProperties properties) {
        this.dataSource = dataSource;
        this.events = events;
        this.clock = clock;
        this.grace = properties.dbLivenessGrace();
    }

    @Scheduled(fixedDelayString = "${peftd.health.db-check-interval}", initialDelayString = "${peftd.health.db-check-interval}")
    void check() {
        String failure = probe();
        Instant now = clock.instant();
        if (failure == null) {
            unreachableSince = null;
            if (broken) {
                broken = false;
                log.info("database reachable again; liveness CORRECT");
                AvailabilityChangeEvent.publish(events, this, LivenessState.CORRECT);
            }
            return;
        }
        if (unreachableSince == null) {
            unreachableSince = now;
            log.warn("database unreachable ({}); liveness goes DOWN if it stays so for {}", failure, grace);
        }
        if (!broken && Duration.between(unreachableSince, now).compareTo(grace) >= 0) {
            broken = true;
            log.error("database unreachable for {} ({}); liveness BROKEN so that the process is restarted",
                    Duration.between(unreachableSince, now), failure);
            AvailabilityChangeEvent.publish(events, this, LivenessState.BROKEN);
        }
    }

    /** @return null when a connection answers, else why not */
    private String probe() {
        try (Connection connection = dataSource.getConnection()) {
            return connection.isValid(VALIDATION_TIMEOUT_SECONDS) ? null : "connection not valid";
        } catch (SQLException | RuntimeException e) {
            return e.getMessage();
        }
    }
}
