package dev.peftd.worker;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Why a running job should stop at its next step boundary, if at all. Set by the heartbeat (cancel or pause seen in
 * the database, lease lost), by a local cancel or pause request, or by graceful shutdown; read by the training loop
 * between steps.
 */
public final class RunControl {

    public enum Stop {
        /** keep training */
        NONE,
        /** the user cancelled: stop, no checkpoint needed */
        CANCEL,
        /** the process is shutting down: checkpoint, then hand the job back */
        SHUTDOWN,
        /** the user paused the job: checkpoint, then hand the job back to wait, paused, without a worker */
        PAUSE,
        /** another worker owns the job now: stop and write nothing */
        LEASE_LOST
    }

    private final AtomicReference<Stop> stop = new AtomicReference<>(Stop.NONE);
    private final String device;

    public RunControl(String device) {
        this.device = device;
    }

    /** The device this worker trains on: {@code cpu} or {@code gpu:N}. */
    public String device() {
        return device;
    }

    public Stop stop() {
        return stop.get();
    }

    /** Whether the run should save the steps it did before stopping, because the job will continue from them. */
    public boolean handsBack() {
        Stop now = stop.get();
        return now == Stop.SHUTDOWN || now == Stop.PAUSE;
    }

    public boolean shouldStop() {
        return stop.get() != Stop.NONE;
    }

    public void request(Stop reason) {
        // a lost lease trumps everything; otherwise the first reason wins
        stop.updateAndGet(current -> reason == Stop.LEASE_LOST || current == Stop.NONE ? reason : current);
    }
}
