package dev.peftd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.IsolatedSchema;
import dev.peftd.MutableClock;
import dev.peftd.ServiceTest;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;

/** Claim, heartbeat, fencing, reaping and the attempts cap, with time driven by a hand-moved clock. */
@ServiceTest
class JobQueueTest {

    static final Duration LEASE = Duration.ofSeconds(30);

    @Autowired
    DataSource dataSource;

    JdbcClient jdbc;
    MutableClock clock;
    JobQueue queue;

    @BeforeEach
    void setUp() {
        jdbc = IsolatedSchema.create(dataSource, "queue_test");
        clock = new MutableClock(Instant.parse("2026-11-28T12:00:00Z"));
        queue = new JobQueue(jdbc, clock);
    }

    static void insertJob(JdbcClient jdbc, String id, int maxAttempts, Instant createdAt) {
        jdbc.sql("""
                insert into fine_tuning_jobs (id, tenant, model, training_file, seed, method, status, created_at, max_attempts)
                values (?, 'alpha', 'm', 'file-x', 1, '{}', 'queued', ?, ?)""")
                .params(id, Timestamp.from(createdAt), maxAttempts).update();
    }

    private Map<String, Object> row(String id) {
        return jdbc.sql("select status, attempts, lease_owner, error_code, steps_completed from fine_tuning_jobs where id = ?")
                .params(id).query().singleRow();
    }

    @Test
    void claimsTheOldestQueuedJobOnce() {
        insertJob(jdbc, "ftjob-b", 3, clock.instant().plusSeconds(1));
        insertJob(jdbc, "ftjob-a", 3, clock.instant());
        Claim first = queue.claim("w1", LEASE).orElseThrow();
        Claim second = queue.claim("w2", LEASE).orElseThrow();
        assertThat(first.jobId()).isEqualTo("ftjob-b");   // insertion order (seq), not the id, decides
        assertThat(second.jobId()).isEqualTo("ftjob-a");
        assertThat(queue.claim("w3", LEASE)).isEmpty();
        assertThat(first.attempt()).isEqualTo(1);
        assertThat(first.checkpointStep()).isNull();
        assertThat(row("ftjob-b")).containsEntry("status", "running").containsEntry("lease_owner", "w1");
    }

    @Test
    void anExpiredLeaseIsRequeuedAndTheOldHoldersWritesAreFenced() {
        insertJob(jdbc, "ftjob-1", 3, clock.instant());
        Claim old = queue.claim("w1", LEASE).orElseThrow();
        assertThat(queue.checkpointed(old, 4, 100)).isTrue();

        clock.advance(Duration.ofSeconds(20));
        assertThat(queue.heartbeat(old, LEASE)).isEqualTo(JobQueue.LeaseState.HELD);
        clock.advance(Duration.ofSeconds(29));
        assertThat(queue.reapExpired()).isEmpty();          // the heartbeat moved the expiry
        clock.advance(Duration.ofSeconds(2));
        assertThat(queue.reapExpired()).containsExactly(new JobQueue.Reaped("ftjob-1", JobState.QUEUED, 1, 3));

        Claim next = queue.claim("w2", LEASE).orElseThrow();
        assertThat(next.attempt()).isEqualTo(2);
        assertThat(next.checkpointStep()).isEqualTo(4);      // resumes from the checkpoint, not step 0
        assertThat(queue.heartbeat(old, LEASE)).isEqualTo(JobQueue.LeaseState.LOST);
        assertThat(queue.progress(old, 9, 10, 99)).isFalse();
        assertThat(queue.planned(old, 10, 5)).isFalse();      // the run's plan is fenced on the lease too
        assertThat(queue.planned(next, 10, 3)).isTrue();
        assertThat(jdbc.sql("select epochs from fine_tuning_jobs where id = 'ftjob-1'").query(Integer.class).single())
                .isEqualTo(3);
        assertThat(queue.succeed(old, "ft:m::ftjob-1", "k", 1, 9)).isFalse();
        assertThat(row("ftjob-1")).containsEntry("status", "running").containsEntry("lease_owner", "w2");
        assertThat(queue.succeed(next, "ft:m::ftjob-1", "k", 1, 10)).isTrue();
        assertThat(row("ftjob-1")).containsEntry("status", "succeeded").containsEntry("steps_completed", 10);
    }

    @Test
    void attemptsAreCappedThenTheJobFailsAsWorkerLost() {
        insertJob(jdbc, "ftjob-2", 2, clock.instant());
        queue.claim("w1", LEASE).orElseThrow();
        clock.advance(LEASE.plusSeconds(1));
        assertThat(queue.reapExpired()).extracting(JobQueue.Reaped::newState).containsExactly(JobState.QUEUED);
        queue.claim("w2", LEASE).orElseThrow();
        clock.advance(LEASE.plusSeconds(1));
        assertThat(queue.reapExpired()).extracting(JobQueue.Reaped::newState).containsExactly(JobState.FAILED);
        assertThat(row("ftjob-2")).containsEntry("status", "failed").containsEntry("error_code", "worker_lost")
                .containsEntry("attempts", 2);
        assertThat(queue.claim("w3", LEASE)).isEmpty();
    }

    @Test
    void cancelIsSeenByTheHeartbeatAndAnExpiredCancellingJobIsCancelled() {
        insertJob(jdbc, "ftjob-3", 3, clock.instant());
        Claim claim = queue.claim("w1", LEASE).orElseThrow();
        jdbc.sql("update fine_tuning_jobs set status = 'cancelling' where id = 'ftjob-3'").update();
        assertThat(queue.heartbeat(claim, LEASE)).isEqualTo(JobQueue.LeaseState.CANCEL_REQUESTED);
        clock.advance(LEASE.plusSeconds(1));
        assertThat(queue.reapExpired()).extracting(JobQueue.Reaped::newState).containsExactly(JobState.CANCELLED);
        assertThat(row("ftjob-3")).containsEntry("status", "cancelled");
    }

    @Test
    void releaseHandsTheJobBackWithoutSpendingAnAttempt() {
        insertJob(jdbc, "ftjob-4", 3, clock.instant());
        Claim claim = queue.claim("w1", LEASE).orElseThrow();
        assertThat(queue.release(claim)).contains(JobState.QUEUED);
        assertThat(row("ftjob-4")).containsEntry("status", "queued").containsEntry("attempts", 0);
        Optional<Claim> again = queue.claim("w2", LEASE);
        assertThat(again).map(Claim::attempt).contains(1);
    }

    @Test
    void aPauseIsSeenByTheHeartbeatAndTheReleasedJobWaitsPausedWithoutLeaseUntilResumed() {
        insertJob(jdbc, "ftjob-5", 3, clock.instant());
        Claim claim = queue.claim("w1", LEASE).orElseThrow();
        jdbc.sql("update fine_tuning_jobs set status = 'pausing' where id = 'ftjob-5'").update();
        assertThat(queue.heartbeat(claim, LEASE)).isEqualTo(JobQueue.LeaseState.PAUSE_REQUESTED);
        assertThat(queue.checkpointed(claim, 7, 700)).as("a pausing job's worker still writes its checkpoint").isTrue();
        assertThat(queue.release(claim)).contains(JobState.PAUSED);
        assertThat(row("ftjob-5")).containsEntry("status", "paused").containsEntry("attempts", 0)
                .containsEntry("lease_owner", null);
        assertThat(queue.claim("w2", LEASE)).as("a paused job is not claimed").isEmpty();
        assertThat(queue.heartbeat(claim, LEASE)).isEqualTo(JobQueue.LeaseState.LOST);
        jdbc.sql("update fine_tuning_jobs set status = 'queued' where id = 'ftjob-5'").update();   // resume
        Claim resumed = queue.claim("w2", LEASE).orElseThrow();
        assertThat(resumed.checkpointStep()).isEqualTo(7);
        assertThat(resumed.checkpointTokens()).isEqualTo(700);
        assertThat(resumed.attempt()).isEqualTo(1);
    }

    @Test
    void aPausingJobWhoseWorkerIsLostIsPausedAtItsLastCheckpoint() {
        insertJob(jdbc, "ftjob-6", 1, clock.instant());
        queue.claim("w1", LEASE).orElseThrow();
        jdbc.sql("update fine_tuning_jobs set status = 'pausing' where id = 'ftjob-6'").update();
        clock.advance(LEASE.plusSeconds(1));
        // its one attempt is used up, yet it is paused, not failed: the user asked it to wait
        assertThat(queue.reapExpired()).extracting(JobQueue.Reaped::newState).containsExactly(JobState.PAUSED);
        assertThat(row("ftjob-6")).containsEntry("status", "paused").containsEntry("error_code", null)
                .containsEntry("lease_owner", null);
        assertThat(jdbc.sql("select finished_at is null from fine_tuning_jobs where id = 'ftjob-6'")
                .query(Boolean.class).single()).isTrue();
    }

    @Test
    void aCancelAfterAPauseWinsWhenTheWorkerLetsGo() {
        insertJob(jdbc, "ftjob-7", 3, clock.instant());
        Claim claim = queue.claim("w1", LEASE).orElseThrow();
        jdbc.sql("update fine_tuning_jobs set status = 'cancelling' where id = 'ftjob-7'").update();
        assertThat(queue.release(claim)).contains(JobState.CANCELLED);
        assertThat(row("ftjob-7")).containsEntry("status", "cancelled");
    }
}
