package dev.peftd.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.peftd.IsolatedSchema;
import dev.peftd.ServiceTest;
import dev.peftd.job.JobEvents;
import dev.peftd.ops.ServiceMeters;
import dev.peftd.queue.JobQueue;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * Three nodes of three workers each on one database and sixty jobs: every job runs exactly once. The handler here
 * only records which jobs it was given; what is under test is the claim loop, not training.
 */
@ServiceTest
class WorkerClusterTest {

    @Autowired
    DataSource dataSource;
    @Autowired
    ServiceMeters meters;
    @Autowired
    JsonMapper json;

    @Test
    void everyJobRunsExactlyOnceAcrossNodes() {
        JdbcClient jdbc = IsolatedSchema.create(dataSource, "cluster_test");
        int jobs = 60;
        for (int i = 0; i < jobs; i++) {
            jdbc.sql("""
                    insert into fine_tuning_jobs (id, tenant, model, training_file, seed, method, status, created_at,
                        max_attempts) values (?, 'alpha', 'm', 'file-x', 1, '{}', 'queued', ?, 3)""")
                    .params("ftjob-c" + i, Timestamp.from(Clock.systemUTC().instant())).update();
        }
        Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
        Map<String, String> ranOn = new ConcurrentHashMap<>();
        JobHandler recording = (claim, control) -> {
            runs.computeIfAbsent(claim.jobId(), id -> new AtomicInteger()).incrementAndGet();
            ranOn.put(claim.jobId(), claim.owner());
            return new JobHandler.Outcome.Succeeded("ft:m::" + claim.jobId(), "k", 1, 1);
        };
        JobQueue queue = new JobQueue(jdbc, Clock.systemUTC());
        JobEvents events = new JobEvents(jdbc, json, Clock.systemUTC());
        WorkerSettings settings = WorkerSettings.of(3, "cpu", Duration.ofSeconds(30), Duration.ofMillis(50),
                Duration.ofSeconds(10));
        List<WorkerPool> nodes = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            nodes.add(new WorkerPool("node" + n, settings, queue, events, recording, meters));
        }
        try {
            nodes.forEach(WorkerPool::start);
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    jdbc.sql("select count(*) from fine_tuning_jobs where status = 'succeeded'").query(Long.class)
                            .single() == jobs);
        } finally {
            nodes.forEach(WorkerPool::stop);
        }
        assertThat(runs).hasSize(jobs);
        assertThat(runs.values()).allMatch(count -> count.get() == 1);
        assertThat(jdbc.sql("select max(attempts) from fine_tuning_jobs").query(Integer.class).single()).isEqualTo(1);
        // the work was shared: more than one node ran jobs
        assertThat(ranOn.values().stream().map(owner -> owner.substring(0, owner.indexOf(':'))).distinct().count())
                .isGreaterThan(1);
    }
}
