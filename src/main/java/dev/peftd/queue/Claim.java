package dev.peftd.queue;

import java.util.UUID;

/**
 * A job a worker holds. Every write the worker makes to the job is fenced on {@link #token}: once the lease expired
 * and someone else claimed the job, the old holder's writes change nothing.
 *
 * @param attempt          1 for the first run, 2 after one re-queue, …
 * @param checkpointStep   the last checkpointed step, or {@code null} to start from step 0
 * @param checkpointTokens tokens trained up to that checkpoint (0 without one)
 * @param spec             what the job asks for
 */
public record Claim(String jobId, String tenant, UUID token, String owner, int attempt, Integer checkpointStep,
                    long checkpointTokens, JobSpec spec) {
}
