package dev.peftd.worker;

import java.util.List;
import java.util.Map;

/**
 * Where the worker and the run it drives tell a job's owner what happened: messages (state changes, warnings) and
 * per-step metrics. The job feature implements it with its event log; the job's state itself goes through the
 * lease-fenced {@link dev.peftd.queue.JobQueue}, never through here.
 */
public interface JobJournal {

    /** Stored and shown by name. */
    enum Level { info, warn, error }

    void message(String jobId, Level level, String message);

    /** A metrics event: {@code data} holds step, loss, learning rate, tokens/s, … */
    void metrics(String jobId, String message, Map<String, Object> data);

    /** The {@code data} of every metrics event of the job, oldest first (what a results file reports). */
    List<Map<String, Object>> recordedMetrics(String jobId);
}
