package dev.peftd.ops;

import dev.peftd.queue.JobQueue;
import dev.peftd.queue.JobState;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * {@code peftd_jobs{status}}: jobs per status across the whole cluster (it counts the shared table). Refreshed on a
 * schedule rather than at scrape time, so a scrape never waits on the database.
 */
@Component
class QueueDepthMeter {

    private static final Logger log = LoggerFactory.getLogger(QueueDepthMeter.class);

    private final JobQueue queue;
    private final Map<JobState, AtomicLong> counts = new EnumMap<>(JobState.class);

    QueueDepthMeter(JobQueue queue, MeterRegistry registry) {
        this.queue = queue;
        for (JobState status : JobState.values()) {
            AtomicLong count = new AtomicLong();
            counts.put(status, count);
            Gauge.builder("peftd.jobs", count, AtomicLong::get).description("Jobs by status (all nodes)")
                    .tag("status", status.wire()).register(registry);
        }
    }

    @Scheduled(fixedDelayString = "${peftd.metrics.queue-refresh:10s}", initialDelayString = "0s")
    void refresh() {
        try {
            Map<JobState, Long> fresh = queue.countByState();
            counts.forEach((status, count) -> count.set(fresh.getOrDefault(status, 0L)));
        } catch (RuntimeException e) {
            log.debug("queue depth refresh failed: {}", e.getMessage());
        }
    }
}
