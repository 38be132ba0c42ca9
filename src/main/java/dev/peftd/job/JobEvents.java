package dev.peftd.job;

import dev.peftd.worker.JobJournal;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import tools.jackson.databind.json.JsonMapper;

/** The event log of each job: messages (state changes, warnings) and per-step metrics, also the workers' journal. */
@Repository
public class JobEvents implements JobJournal {

    /** One stored event; {@code data} is a JSON object for metrics events. */
    public record Event(long seq, String jobId, long createdAt, Level level, String type, String message, String data) {
        public String id() {
            return "ftevent-" + seq;
        }
    }

    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final Clock clock;

    public JobEvents(JdbcClient jdbc, JsonMapper json, Clock clock) {
        this.jdbc = jdbc;
        this.json = json;
        this.clock = clock;
    }

    @Override
    public void message(String jobId, Level level, String message) {
        insert(jobId, level, "message", message, null);
    }

    @Override
    public void metrics(String jobId, String message, Map<String, Object> data) {
        insert(jobId, Level.info, "metrics", message, json.writeValueAsString(data));
    }

    @Override
    public List<Map<String, Object>> recordedMetrics(String jobId) {
        return jdbc.sql("select data from job_events where job_id = ? and type = 'metrics' order by id")
                .params(jobId).query((rs, row) -> json.readValue(rs.getString("data"), METRICS)).list();
    }

    private static final tools.jackson.core.type.TypeReference<Map<String, Object>> METRICS =
            new tools.jackson.core.type.TypeReference<>() { };

    private void insert(String jobId, Level level, String type, String message, String data) {
        jdbc.sql("insert into job_events (job_id, created_at, level, type, message, data) values (?, ?, ?, ?, ?, ?)")
                .params(jobId, Timestamp.from(clock.instant()), level.name(), type, message, data)
                .update();
    }

    /** Newest first, as OpenAI lists them; {@code afterSeq} is the cursor of the previous page. */
    List<Event> newestFirst(String jobId, Long afterSeq, int limitPlusOne) {
        return jdbc.sql("""
                select * from job_events where job_id = ? and (?::bigint is null or id < ?) order by id desc limit ?""")
                .params(jobId, afterSeq, afterSeq, limitPlusOne).query(JobEvents::map).list();
    }

    /** Oldest first after a sequence number, for streaming. */
    List<Event> after(String jobId, long afterSeq, int limit) {
        return jdbc.sql("select * from job_events where job_id = ? and id > ? order by id limit ?")
                .params(jobId, afterSeq, limit).query(JobEvents::map).list();
    }

    private static Event map(java.sql.ResultSet rs, int row) throws java.sql.SQLException {
        return new Event(rs.getLong("id"), rs.getString("job_id"), rs.getTimestamp("created_at").toInstant().getEpochSecond(),
                Level.valueOf(rs.getString("level")), rs.getString("type"), rs.getString("message"), rs.getString("data"));
    }
}
