package dev.peftd.job;

import dev.peftd.catalog.FileUsage;
import dev.peftd.queue.JobState;
import dev.peftd.api.SeqPages;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import tools.jackson.databind.json.JsonMapper;

/**
 * The job table as the API sees it: insert, read (always scoped to a tenant), page, cancel. The queue feature owns
 * the lease columns and writes them with its own fenced statements.
 */
@Repository
public class Jobs implements FileUsage {

    private static final String INSERT = """
            insert into fine_tuning_jobs (id, tenant, model, training_file, validation_file, suffix, seed, method,
                metadata, status, created_at, max_attempts, comparison_id)
            values (:id, :tenant, :model, :trainingFile, :validationFile, :suffix, :seed, :method, :metadata,
                %s, :createdAt, :maxAttempts, :group)""".formatted(JobState.QUEUED.sql());
    private static final String ACTIVE = JobState.sqlList(JobState.ACTIVE);
    private static final Set<JobState> WITHOUT_WORKER = Set.of(JobState.QUEUED, JobState.PAUSED);
    /** A queued or paused job is cancelled at once; a running or pausing one is asked to stop ({@code cancelling}). */
    private static final String CANCEL = """
            update fine_tuning_jobs
               set status = case when status in %1$s then %2$s else %3$s end,
                   finished_at = case when status in %1$s then ?::timestamptz else finished_at end
             where id = ? and tenant = ? and status in %4$s
            returning status""".formatted(JobState.sqlList(WITHOUT_WORKER),
            JobState.sqlMove(WITHOUT_WORKER, JobState.CANCELLED),
            JobState.sqlMove(Set.of(JobState.RUNNING, JobState.PAUSING), JobState.CANCELLING),
            JobState.sqlList(Set.of(JobState.QUEUED, JobState.PAUSED, JobState.RUNNING, JobState.PAUSING)));
    /** A queued job is parked at once; a running one is asked to checkpoint and give its worker back. */
    private static final String PAUSE = """
            update fine_tuning_jobs
               set status = case when status = %1$s then %2$s else %3$s end
             where id = ? and tenant = ? and status in %4$s
            returning status""".formatted(JobState.QUEUED.sql(),
            JobState.sqlMove(Set.of(JobState.QUEUED), JobState.PAUSED),
            JobState.sqlMove(Set.of(JobState.RUNNING), JobState.PAUSING),
            JobState.sqlList(Set.of(JobState.QUEUED, JobState.RUNNING)));
    /** Back in the queue; a worker claims it and continues from its checkpoint. */
    private static final String RESUME = """
            update fine_tuning_jobs set status = %s
             where id = ? and tenant = ? and status = %s""".formatted(
            JobState.sqlMove(Set.of(JobState.PAUSED), JobState.QUEUED), JobState.PAUSED.sql());
    private static final String SUCCEEDED = JobState.SUCCEEDED.sql();

    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final RowMapper<JobRecord> mapper;

    Jobs(JdbcClient jdbc, JsonMapper json) {
        this.jdbc = jdbc;
        this.json = json;
        this.mapper = this::map;
    }

    void insert(NewJob job) {
        jdbc.sql(INSERT)
                .param("id", job.id()).param("tenant", job.tenant()).param("model", job.model())
                .param("trainingFile", job.datasets().trainingFile())
                .param("validationFile", job.datasets().validationFile().orElse(null))
                .param("suffix", job.suffix().orElse(null)).param("seed", job.seed())
                .param("method", json.writeValueAsString(job.method()))
                .param("metadata", job.metadataJson().orElse(null))
                .param("createdAt", Timestamp.from(job.createdAt())).param("maxAttempts", job.maxAttempts())
                .param("group", job.group().orElse(null))
                .update();
    }

    /**
     * Serialises job creation per tenant until the current transaction ends (a PostgreSQL advisory lock), so that
     * counting a tenant's active jobs and inserting one cannot race past the limit.
     */
    void lockTenant(String tenant) {
        jdbc.sql("select pg_advisory_xact_lock(hashtext('peftd.jobs:' || ?))").param(tenant).query().singleRow();
    }

    /** The tenant's jobs that hold or wait for a worker: queued, running or cancelling. */
    int countActive(String tenant) {
        return jdbc.sql("select count(*) from fine_tuning_jobs where tenant = ? and status in " + ACTIVE)
                .param(tenant).query(Integer.class).single();
    }

    public Optional<JobRecord> find(String tenant, String id) {
        return jdbc.sql("select * from fine_tuning_jobs where id = ? and tenant = ?").params(id, tenant)
                .query(mapper).optional();
    }

    /** A comparison's children, oldest first. */
    List<JobRecord> inGroup(String tenant, String group) {
        return jdbc.sql("select * from fine_tuning_jobs where tenant = ? and comparison_id = ? order by seq")
                .params(tenant, group).query(mapper).list();
    }

    /** The children of several comparisons in one query, each list oldest first; a group without jobs is absent. */
    Map<String, List<JobRecord>> inGroups(String tenant, Collection<String> groups) {
        if (groups.isEmpty()) {
            return Map.of();
        }
        return jdbc.sql("select * from fine_tuning_jobs where tenant = ? and comparison_id = any(?) order by seq")
                .params(tenant, groups.toArray(String[]::new))
                .query((rs, row) -> Map.entry(rs.getString("comparison_id"), mapper.mapRow(rs, row))).list().stream()
                .collect(Collectors.groupingBy(Map.Entry::getKey, LinkedHashMap::new,
                        Collectors.mapping(Map.Entry::getValue, Collectors.toList())));
    }

    /** Newest first; {@code after} is the id of the last job of the previous page. */
    List<JobRecord> page(String tenant, String after, int limitPlusOne) {
        return SeqPages.newestFirst(jdbc, "fine_tuning_jobs", tenant, after, limitPlusOne, mapper);
    }

    /**
     * Cancels in one guarded statement: a queued or paused job is cancelled at once, a running or pausing one becomes
     * {@code cancelling} and its worker stops at the next step boundary.
     *
     * @return the new status, or empty when the job was in none of those states
     */
    Optional<JobState> cancel(String tenant, String id, Instant now) {
        return jdbc.sql(CANCEL)
                .params(Timestamp.from(now), id, tenant)
                .query((rs, i) -> JobState.fromWire(rs.getString(1))).optional();
    }

    /**
     * Pauses in one guarded statement: a queued job becomes {@code paused} at once, a running one {@code pausing}
     * until its worker has checkpointed and let it go.
     *
     * @return the new status, or empty when the job was neither queued nor running
     */
    Optional<JobState> pause(String tenant, String id) {
        return jdbc.sql(PAUSE).params(id, tenant).query((rs, i) -> JobState.fromWire(rs.getString(1))).optional();
    }

    /** A paused job goes back to the queue; false when it was not paused. */
    boolean resume(String tenant, String id) {
        return jdbc.sql(RESUME).params(id, tenant).update() == 1;
    }

    /** True when a job that has not finished reads this file (catalog refuses to delete it then). */
    @Override
    public boolean fileInUse(String fileId) {
        return jdbc.sql("""
                select exists (select 1 from fine_tuning_jobs
                 where (training_file = ? or validation_file = ?) and status in %s)""".formatted(ACTIVE))
                .params(fileId, fileId).query(Boolean.class).single();
    }


    /** Succeeded jobs whose model was not deleted, oldest first: each one's adapter is a fine-tuned model. */
    List<JobRecord> withModels(String tenant) {
        return jdbc.sql("""
                select * from fine_tuning_jobs where tenant = ? and status = %s and model_deleted_at is null
                 order by seq""".formatted(SUCCEEDED))
                .params(tenant).query(mapper).list();
    }

    /** The succeeded job whose model this is, unless the model was deleted. */
    Optional<JobRecord> withModel(String tenant, String fineTunedModel) {
        return jdbc.sql("""
                select * from fine_tuning_jobs where tenant = ? and status = %s and fine_tuned_model = ?
                   and model_deleted_at is null""".formatted(SUCCEEDED))
                .params(tenant, fineTunedModel).query(mapper).optional();
    }

    /** The job, in any state, unless its model was deleted (its checkpoints went with it). */
    Optional<JobRecord> withCheckpointModels(String tenant, String id) {
        return jdbc.sql("select * from fine_tuning_jobs where id = ? and tenant = ? and model_deleted_at is null")
                .params(id, tenant).query(mapper).optional();
    }

    /** Records that the job's model was deleted; false when it already was. */
    boolean markModelDeleted(String tenant, String id, Instant now) {
        return jdbc.sql("""
                update fine_tuning_jobs set model_deleted_at = ?
                 where id = ? and tenant = ? and model_deleted_at is null""")
                .params(Timestamp.from(now), id, tenant).update() == 1;
    }

    private JobRecord map(ResultSet rs, int row) throws SQLException {
        return new JobRecord(
                rs.getString("id"), rs.getString("tenant"), rs.getString("model"), rs.getString("training_file"),
                rs.getString("validation_file"), rs.getString("suffix"), rs.getLong("seed"),
                json.readValue(rs.getString("method"), TrainingMethod.class), rs.getString("metadata"),
                JobState.fromWire(rs.getString("status")), rs.getString("fine_tuned_model"), rs.getString("error_code"),
                rs.getString("error_message"), rs.getString("error_param"), (Long) rs.getObject("trained_tokens"),
                (Integer) rs.getObject("total_steps"), (Integer) rs.getObject("epochs"), rs.getInt("steps_completed"), instant(rs, "created_at"),
                instant(rs, "started_at"), instant(rs, "finished_at"), rs.getInt("attempts"), rs.getInt("max_attempts"),
                (Integer) rs.getObject("checkpoint_step"), rs.getString("adapter_key"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp value = rs.getTimestamp(column);
        return value == null ? null : value.toInstant();
    }
}
