package dev.peftd.job;

import dev.peftd.kernel.Settings;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The job feature's settings, bound from the four {@code peftd.*} groups they sit in (names unchanged, so the
 * {@code PEFTD_*} variables keep working): {@code peftd.training.checkpoint-every}, {@code peftd.worker.max-attempts},
 * {@code peftd.limits.active-jobs-per-tenant}, {@code peftd.events.stream-poll}.
 */
@ConfigurationProperties("peftd")
record JobProperties(Training training, Worker worker, Limits limits, Events events) {

    JobProperties {
        Settings.required(training, "peftd.training.checkpoint-every");
        Settings.required(worker, "peftd.worker.max-attempts");
        Settings.required(limits, "peftd.limits.active-jobs-per-tenant");
        Settings.required(events, "peftd.events.stream-poll");
    }

    /** @param checkpointEvery the default {@code checkpoint_every} of a job; 0: no checkpoints */
    record Training(int checkpointEvery) {
        Training {
            Settings.atLeast(checkpointEvery, 0, "peftd.training.checkpoint-every");
        }
    }

    /** @param maxAttempts lost workers tolerated per job before it fails with {@code worker_lost} */
    record Worker(int maxAttempts) {
        Worker {
            Settings.atLeast(maxAttempts, 1, "peftd.worker.max-attempts");
        }
    }

    record Limits(int activeJobsPerTenant) {
        Limits {
            Settings.atLeast(activeJobsPerTenant, 1, "peftd.limits.active-jobs-per-tenant");
        }
    }

    /** @param streamPoll how often an event stream looks for new events */
    record Events(Duration streamPoll) {
        Events {
            Settings.positive(streamPoll, "peftd.events.stream-poll");
        }
    }
}
