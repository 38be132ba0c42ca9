package dev.peftd.job;

import java.util.Set;

/** A job's life: {@code queued → running → succeeded | failed}, and {@code cancelling → cancelled} on request. */
public enum JobStatus {
    queued, running, cancelling, succeeded, failed, cancelled;

    public static final Set<JobStatus> TERMINAL = Set.of(succeeded, failed, cancelled);

    public boolean terminal() {
        return TERMINAL.contains(this);
    }
}
