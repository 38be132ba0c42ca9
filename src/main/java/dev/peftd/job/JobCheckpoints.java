package dev.peftd.job;

import dev.peftd.training.CheckpointLog;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Checkpoints a worker saved: the step, the loss at that step and where the state lies in the store. */
@Repository
public class JobCheckpoints implements CheckpointLog {

    /** @param validLoss the validation-sample loss of an evaluation at the same step, or {@code null} */
    public record Checkpoint(String id, String jobId, int stepNumber, Double trainLoss, Double validLoss,
                             String storageKey, Instant createdAt) {
    }

    private final JdbcClient jdbc;

    JobCheckpoints(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public void record(String jobId, int step, Double trainLoss, Double validLoss, String storageKey, Instant at) {
        jdbc.sql("""
                insert into job_checkpoints (id, job_id, step_number, train_loss, valid_loss, storage_key, created_at)
                values (?, ?, ?, ?, ?, ?, ?)
                on conflict (job_id, step_number) do update
                   set train_loss = excluded.train_loss, valid_loss = excluded.valid_loss,
                       storage_key = excluded.storage_key, created_at = excluded.created_at""")
                .params("ftckpt-" + jobId.substring(jobId.indexOf('-') + 1) + "-" + step, jobId, step, trainLoss,
                        validLoss, storageKey, Timestamp.from(at))
                .update();
    }

    /** Newest first. */
    List<Checkpoint> list(String jobId, Integer beforeStep, int limitPlusOne) {
        return jdbc.sql("""
                select * from job_checkpoints where job_id = ? and (?::int is null or step_number < ?)
                 order by step_number desc limit ?""")
                .params(jobId, beforeStep, beforeStep, limitPlusOne)
                .query(JobCheckpoints::row)
                .list();
    }

    @Override
    public List<Saved> saved(String jobId) {
        return list(jobId, null, Integer.MAX_VALUE).stream()
                .map(c -> new Saved(c.stepNumber(), c.trainLoss(), c.validLoss(), c.storageKey())).toList();
    }

    public java.util.Optional<Checkpoint> find(String id) {
        return jdbc.sql("select * from job_checkpoints where id = ?").params(id)
                .query(JobCheckpoints::row)
                .optional();
    }

    /** The checkpoint at {@code step}, if the job lists it. */
    java.util.Optional<Checkpoint> at(String jobId, int step) {
        return jdbc.sql("select * from job_checkpoints where job_id = ? and step_number = ?").params(jobId, step)
                .query(JobCheckpoints::row).optional();
    }

    /** A listed checkpoint with what names it as a model: its job's base model and suffix. */
    record OfTenant(Checkpoint checkpoint, String model, String suffix) {
    }

    /** The tenant's listed checkpoints of jobs whose model was not deleted, by job then step. */
    List<OfTenant> ofTenant(String tenant) {
        return jdbc.sql("""
                select c.*, j.model, j.suffix from job_checkpoints c join fine_tuning_jobs j on j.id = c.job_id
                 where j.tenant = ? and j.model_deleted_at is null order by j.seq, c.step_number""")
                .params(tenant)
                .query((rs, i) -> new OfTenant(row(rs, i), rs.getString("model"), rs.getString("suffix")))
                .list();
    }

    /** Unlists every checkpoint of the job (its model was deleted). */
    void deleteAll(String jobId) {
        jdbc.sql("delete from job_checkpoints where job_id = ?").params(jobId).update();
    }

    @Override
    public void delete(String jobId, int step) {
        jdbc.sql("delete from job_checkpoints where job_id = ? and step_number = ?").params(jobId, step).update();
    }

    private static Checkpoint row(ResultSet rs, int rowNum) throws SQLException {
        return new Checkpoint(rs.getString("id"), rs.getString("job_id"), rs.getInt("step_number"),
                (Double) rs.getObject("train_loss"), (Double) rs.getObject("valid_loss"), rs.getString("storage_key"),
                rs.getTimestamp("created_at").toInstant());
    }
}
