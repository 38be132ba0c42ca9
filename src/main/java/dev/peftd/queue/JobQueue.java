package dev.peftd.queue;

import static dev.peftd.queue.JobState.CANCELLED;
import static dev.peftd.queue.JobState.CANCELLING;
import static dev.peftd.queue.JobState.FAILED;
import static dev.peftd.queue.JobState.LEASED;
import static dev.peftd.queue.JobState.PAUSED;
import static dev.peftd.queue.JobState.PAUSING;
import static dev.peftd.queue.JobState.QUEUED;
import static dev.peftd.queue.JobState.RUNNING;
import static dev.peftd.queue.JobState.SUCCEEDED;
import static dev.peftd.queue.JobState.sqlMove;

import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The job queue is the job table: {@code FOR UPDATE SKIP LOCKED} picks the oldest queued job, a lease (owner, token,
 * expiry) marks it taken, heartbeats extend the lease, and every later write is fenced on the token. Time comes from
 * the injected {@link Clock}, never from the database, so tests drive lease expiry without sleeping.
 *
 * <p>The states in the statements come from {@link JobState}, inlined as constants (not bound) so that the planner
 * still matches the partial indexes on {@code status}; each state a statement writes goes through
 * {@link JobState#sqlMove}, so a statement that took an arrow the lifecycle does not have fails when this class loads.
 */
@Component
public class JobQueue {

    /** What a heartbeat learned: the lease is still ours, and whether a cancel or a pause was requested. */
    public enum LeaseState { HELD, CANCEL_REQUESTED, PAUSE_REQUESTED, LOST }

    /** A job the reaper moved, and where to. */
    public record Reaped(String jobId, JobState newState, int attempts, int maxAttempts) {
    }

    private static final String HELD_BY_A_WORKER = JobState.sqlList(LEASED);

    private static final String CLAIM = """
            update fine_tuning_jobs j
               set status = %s, lease_owner = :owner, lease_token = :token, lease_expires_at = :expires,
                   attempts = j.attempts + 1, started_at = coalesce(j.started_at, :now)
             where j.id = (select id from fine_tuning_jobs where status = %s
                            order by seq limit 1 for update skip locked)
            returning j.id, j.tenant, j.attempts, j.checkpoint_step, j.checkpoint_tokens,
                      j.model, j.training_file, j.validation_file, j.suffix, j.seed, j.method, j.comparison_id"""
            .formatted(sqlMove(Set.of(QUEUED), RUNNING), QUEUED.sql());

    private static final String HEARTBEAT = """
            update fine_tuning_jobs set lease_expires_at = ?
             where id = ? and lease_token = ? and status in %s
            returning status""".formatted(HELD_BY_A_WORKER);

    private static final String SUCCEED = """
            status = %s, fine_tuned_model = :model, adapter_key = :adapter, trained_tokens = :tokens,
            steps_completed = :steps""".formatted(sqlMove(LEASED, SUCCEEDED));

    private static final String FAIL = "status = %s, error_code = :code, error_message = :message"
            .formatted(sqlMove(LEASED, FAILED));

    private static final String CANCEL = "status = %s".formatted(sqlMove(LEASED, CANCELLED));

    /** {@code %%s} is the SET clause of the outcome. */
    private static final String FINISH = """
            update fine_tuning_jobs set %%s, finished_at = :now,
                   lease_owner = null, lease_token = null, lease_expires_at = null
             where id = :id and lease_token = :token and status in %s""".formatted(HELD_BY_A_WORKER);

    /** A cancel asked meanwhile wins; a pause parks the job; otherwise it waits in the queue again. */
    private static final String RELEASE = """
            update fine_tuning_jobs
               set status = case when status = %1$s then %2$s when status = %3$s then %4$s else %5$s end,
                   finished_at = case when status = %1$s then ?::timestamptz else null end,
                   attempts = greatest(attempts - 1, 0),
                   lease_owner = null, lease_token = null, lease_expires_at = null
             where id = ? and lease_token = ? and status in %6$s
            returning status"""
            .formatted(CANCELLING.sql(), sqlMove(Set.of(CANCELLING), CANCELLED), PAUSING.sql(),
                    sqlMove(Set.of(PAUSING), PAUSED), sqlMove(Set.of(RUNNING), QUEUED), HELD_BY_A_WORKER);

    /** A pausing job whose worker died is paused at its last checkpoint, without spending the user's attempts. */
    private static final String REAP = """
            with expired as (
                select id from fine_tuning_jobs
                 where status in %1$s and lease_expires_at < ?
                 for update skip locked)
            update fine_tuning_jobs j
               set status = case when j.status = %2$s then %4$s when j.status = %7$s then %8$s
                                 when j.attempts >= j.max_attempts then %5$s else %6$s end,
                   error_code = case when j.status = %3$s and j.attempts >= j.max_attempts
                                     then 'worker_lost' else j.error_code end,
                   error_message = case when j.status = %3$s and j.attempts >= j.max_attempts
                                     then 'the worker stopped responding ' || j.attempts || ' times; giving up'
                                     else j.error_message end,
                   finished_at = case when j.status = %2$s or (j.status = %3$s and j.attempts >= j.max_attempts)
                                      then ?::timestamptz else null end,
                   lease_owner = null, lease_token = null, lease_expires_at = null
              from expired where j.id = expired.id
            returning j.id, j.status, j.attempts, j.max_attempts"""
            .formatted(HELD_BY_A_WORKER, CANCELLING.sql(), RUNNING.sql(), sqlMove(Set.of(CANCELLING), CANCELLED),
                    sqlMove(Set.of(RUNNING), FAILED), sqlMove(Set.of(RUNNING), QUEUED), PAUSING.sql(),
                    sqlMove(Set.of(PAUSING), PAUSED));

    private final JdbcClient jdbc;
    private final Clock clock;

    public JobQueue(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    /** Claims the oldest queued job, if any. Short transaction: the row lock ends with this statement. */
    public Optional<Claim> claim(String owner, Duration lease) {
        Instant now = clock.instant();
        UUID token = UUID.randomUUID();
        return jdbc.sql(CLAIM)
                .param("owner", owner).param("token", token).param("expires", ts(now.plus(lease)))
                .param("now", ts(now))
                .query((rs, i) -> new Claim(rs.getString("id"), rs.getString("tenant"), token, owner,
                        rs.getInt("attempts"), (Integer) rs.getObject("checkpoint_step"),
                        rs.getLong("checkpoint_tokens"), new JobSpec(rs.getString("model"),
                        rs.getString("training_file"), Optional.ofNullable(rs.getString("validation_file")),
                        Optional.ofNullable(rs.getString("suffix")), rs.getLong("seed"), rs.getString("method"),
                        Optional.ofNullable(rs.getString("comparison_id")))))
                .optional();
    }

    /** Extends the lease; tells the holder whether it still has the job and whether to stop. */
    public LeaseState heartbeat(Claim claim, Duration lease) {
        return jdbc.sql(HEARTBEAT)
                .params(ts(clock.instant().plus(lease)), claim.jobId(), claim.token())
                .query((rs, i) -> switch (JobState.fromWire(rs.getString(1))) {
                    case CANCELLING -> LeaseState.CANCEL_REQUESTED;
                    case PAUSING -> LeaseState.PAUSE_REQUESTED;
                    default -> LeaseState.HELD;
                })
                .optional().orElse(LeaseState.LOST);
    }

    /**
     * What the run will do, once it has read its data: its steps and the epochs they reach (the job's effective
     * {@code n_epochs}); false when the lease is gone.
     */
    public boolean planned(Claim claim, int totalSteps, int epochs) {
        return jdbc.sql("update fine_tuning_jobs set total_steps = ?, epochs = ? where id = ? and lease_token = ?")
                .params(totalSteps, epochs, claim.jobId(), claim.token()).update() == 1;
    }

    /** Progress after a step; false when the lease is gone. */
    public boolean progress(Claim claim, int stepsCompleted, int totalSteps, long trainedTokens) {
        return jdbc.sql("""
                update fine_tuning_jobs set steps_completed = ?, total_steps = ?, trained_tokens = ?
                 where id = ? and lease_token = ?""")
                .params(stepsCompleted, totalSteps, trainedTokens, claim.jobId(), claim.token()).update() == 1;
    }

    /** Remembers the step a resumed run starts from; false when the lease is gone. */
    public boolean checkpointed(Claim claim, int step, long trainedTokens) {
        return jdbc.sql("""
                update fine_tuning_jobs set checkpoint_step = ?, checkpoint_tokens = ?
                 where id = ? and lease_token = ?""")
                .params(step, trainedTokens, claim.jobId(), claim.token()).update() == 1;
    }

    public boolean succeed(Claim claim, String fineTunedModel, String adapterKey, long trainedTokens, int steps) {
        return finish(claim, SUCCEED, fineTunedModel, adapterKey, trainedTokens, steps, null, null);
    }

    public boolean fail(Claim claim, String code, String message) {
        return finish(claim, FAIL, null, null, 0, 0, code, message);
    }

    /** The worker stopped at a step boundary after a cancel request. */
    public boolean cancelled(Claim claim) {
        return finish(claim, CANCEL, null, null, 0, 0, null, null);
    }

    private boolean finish(Claim claim, String set, String model, String adapter, long tokens, int steps, String code,
            String message) {
        return jdbc.sql(FINISH.formatted(set))
                .param("model", model).param("adapter", adapter).param("tokens", tokens).param("steps", steps)
                .param("code", code).param("message", message)
                .param("now", ts(clock.instant())).param("id", claim.jobId()).param("token", claim.token())
                .update() == 1;
    }

    /**
     * Gives the job back without counting the attempt, after a checkpoint (graceful shutdown, or a pause): queued
     * again, paused when a pause was asked, cancelled when a cancel was pending.
     *
     * @return the job's new state, empty when the lease was gone
     */
    public Optional<JobState> release(Claim claim) {
        return jdbc.sql(RELEASE)
                .params(ts(clock.instant()), claim.jobId(), claim.token())
                .query((rs, i) -> JobState.fromWire(rs.getString(1))).optional();
    }

    /**
     * Re-queues jobs whose lease expired (their worker died or hangs): back to {@code queued} to resume from the last
     * checkpoint, {@code failed} with {@code worker_lost} once the attempts are used up, {@code cancelled} when a
     * cancel was pending, {@code paused} (at the last checkpoint) when a pause was.
     */
    public List<Reaped> reapExpired() {
        Instant now = clock.instant();
        return jdbc.sql(REAP)
                .params(ts(now), ts(now))
                .query((rs, i) -> new Reaped(rs.getString(1), JobState.fromWire(rs.getString(2)), rs.getInt(3),
                        rs.getInt(4)))
                .list();
    }

    private static Timestamp ts(Instant instant) {
        return Timestamp.from(instant);
    }

    /** Jobs per state across the whole cluster (the shared table): the queue depth the operators watch. */
    public Map<JobState, Long> countByState() {
        Map<JobState, Long> counts = new EnumMap<>(JobState.class);
        jdbc.sql("select status, count(*) from fine_tuning_jobs group by status")
                .query(rs -> {
                    counts.put(JobState.fromWire(rs.getString(1)), rs.getLong(2));
                });
        return counts;
    }
}
