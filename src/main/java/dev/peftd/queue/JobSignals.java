package dev.peftd.queue;

/** In-process signals the worker pool listens to, so that a local worker reacts without waiting for its next poll. */
public final class JobSignals {

    private JobSignals() {
    }

    /** A job was queued. */
    public record Submitted(String jobId) {
    }

    /** A running job was asked to stop at its next step boundary. */
    public record CancelRequested(String jobId) {
    }

    /** A running job was asked to checkpoint at its next step boundary and give its worker back. */
    public record PauseRequested(String jobId) {
    }
}
