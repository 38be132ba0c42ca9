package dev.peftd.worker;

import dev.peftd.ops.ServiceMeters;
import dev.peftd.queue.Claim;
import dev.peftd.queue.JobQueue;
import dev.peftd.queue.JobSignals;
import dev.peftd.queue.JobState;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;

/**
 * The workers of this process: one thread per slot claims jobs from the queue and runs them with the
 * {@link JobHandler}. A scheduler renews each running job's lease and relays cancel and pause requests seen in the
 * database; the reaper re-queues expired leases of any node, at start-up and every half lease.
 *
 * <p>Stopping (graceful shutdown) asks every running job to checkpoint at its next step boundary and hand its job
 * back, then waits for the workers to finish.
 */
public class WorkerPool implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(WorkerPool.class);

    private final WorkerSettings settings;
    private final JobQueue queue;
    private final JobJournal events;
    private final JobHandler handler;
    private final ServiceMeters meters;
    private final String node;
    private final Map<String, RunControl> running = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;
    private volatile boolean started;
    private ScheduledExecutorService scheduler;

    /** @param node this process's name in lease owners ({@code host:pid}); workers are {@code node:wN} */
    WorkerPool(String node, WorkerSettings settings, JobQueue queue, JobJournal events, JobHandler handler,
            ServiceMeters meters) {
        this.settings = settings;
        this.queue = queue;
        this.events = events;
        this.handler = handler;
        this.meters = meters;
        this.node = node;
    }

    @Override
    public void start() {
        stopping = false;
        scheduler = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "worker-leases");
            t.setDaemon(true);
            return t;
        });
        reap();
        long reapEvery = Math.max(1000, settings.lease().toMillis() / 2);
        scheduler.scheduleWithFixedDelay(this::reap, reapEvery, reapEvery, TimeUnit.MILLISECONDS);
        for (int i = 0; i < settings.count(); i++) {
            String device = settings.deviceOf(i);
            String owner = node + ":w" + i;
            Thread thread = new Thread(() -> loop(owner, device), "worker-" + i + "-" + device);
            threads.add(thread);
            meters.registerWorker(owner, device);
            thread.start();
        }
        started = true;
        log.info("{} worker(s) on {} with a {} lease", settings.count(), settings.devices(), settings.lease());
    }

    private void loop(String owner, String device) {
        while (!stopping) {
            Optional<Claim> claim;
            try {
                claim = queue.claim(owner, settings.lease());
            } catch (RuntimeException e) {
                log.warn("{}: claim failed: {}", owner, e.getMessage());
                claim = Optional.empty();
            }
            if (claim.isPresent()) {
                execute(claim.get(), device);
            } else {
                idle();
            }
        }
    }

    private void idle() {
        lock.lock();
        try {
            if (!stopping) {
                wake.await(settings.pollInterval().toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } finally {
            lock.unlock();
        }
    }

    private void execute(Claim claim, String device) {
        RunControl control = new RunControl(device);
        running.put(claim.jobId(), control);
        if (stopping) {
            control.request(RunControl.Stop.SHUTDOWN);
        }
        long heartbeatMillis = settings.heartbeat().toMillis();
        ScheduledFuture<?> heartbeat = scheduler.scheduleWithFixedDelay(() -> heartbeat(claim, control),
                heartbeatMillis, heartbeatMillis, TimeUnit.MILLISECONDS);
        meters.busy(claim.owner(), true);
        long startedNanos = System.nanoTime();
        JobHandler.Outcome outcome;
        try {
            events.message(claim.jobId(), JobJournal.Level.info, "Worker " + claim.owner() + " on " + device
                    + " started attempt " + claim.attempt() + (claim.checkpointStep() == null ? ""
                    : ", resuming from the checkpoint at step " + claim.checkpointStep()));
            outcome = handler.run(claim, control);
        } catch (RuntimeException | Error e) {
            log.error("job {} crashed its worker", claim.jobId(), e);
            outcome = new JobHandler.Outcome.Failed("internal_error", String.valueOf(e));
        } finally {
            heartbeat.cancel(false);
            running.remove(claim.jobId());
            meters.busy(claim.owner(), false);
        }
        record(claim, outcome, System.nanoTime() - startedNanos);
    }

    private void heartbeat(Claim claim, RunControl control) {
        try {
            switch (queue.heartbeat(claim, settings.lease())) {
                case CANCEL_REQUESTED -> control.request(RunControl.Stop.CANCEL);
                case PAUSE_REQUESTED -> control.request(RunControl.Stop.PAUSE);
                case LOST -> control.request(RunControl.Stop.LEASE_LOST);
                case HELD -> { }
            }
        } catch (RuntimeException e) {
            // a database hiccup: keep training; the lease outlives a few missed beats
            log.warn("heartbeat of {} failed: {}", claim.jobId(), e.getMessage());
        }
    }

    private void record(Claim claim, JobHandler.Outcome outcome, long nanos) {
        String id = claim.jobId();
        String result;
        boolean written;
        if (outcome instanceof JobHandler.Outcome.Succeeded s) {
            written = queue.succeed(claim, s.fineTunedModel(), s.adapterKey(), s.trainedTokens(), s.steps());
            result = JobState.SUCCEEDED.wire();
            if (written) {
                events.message(id, JobJournal.Level.info, "The job has successfully completed: " + s.fineTunedModel());
            }
        } else if (outcome instanceof JobHandler.Outcome.Failed f) {
            written = queue.fail(claim, f.code(), f.message());
            result = JobState.FAILED.wire();
            if (written) {
                events.message(id, JobJournal.Level.error, "The job failed (" + f.code() + "): " + f.message());
            }
        } else {
            RunControl.Stop reason = ((JobHandler.Outcome.Stopped) outcome).reason();
            switch (reason) {
                case CANCEL -> {
                    written = queue.cancelled(claim);
                    result = JobState.CANCELLED.wire();
                    if (written) {
                        events.message(id, JobJournal.Level.info, "The job was cancelled");
                    }
                }
                case SHUTDOWN, PAUSE -> {
                    Optional<JobState> after = queue.release(claim);
                    written = after.isPresent();
                    result = reason == RunControl.Stop.PAUSE ? JobState.PAUSED.wire() : "released";
                    after.ifPresent(state -> events.message(id, JobJournal.Level.info, handedBack(state)));
                }
                default -> {
                    written = false;
                    result = "lease_lost";
                    events.message(id, JobJournal.Level.warn, "Worker " + claim.owner() + " lost its lease; another "
                            + "attempt owns the job");
                }
            }
        }
        if (!written && !result.equals("lease_lost")) {
            log.warn("job {}: lease lost before '{}' could be recorded", id, result);
        }
        meters.outcome(result, nanos);
    }

    private static String handedBack(JobState state) {
        return switch (state) {
            case PAUSED -> "The job is paused at its last checkpoint and holds no worker; resume it to continue";
            case CANCELLED -> "The job was cancelled";
            default -> "Worker shutting down; the job goes back to the queue";
        };
    }

    private void reap() {
        try {
            for (JobQueue.Reaped reaped : queue.reapExpired()) {
                String message = switch (reaped.newState()) {
                    case QUEUED -> "The worker stopped responding; re-queued to resume from the last checkpoint"
                            + " (attempt " + reaped.attempts() + " of " + reaped.maxAttempts() + " used)";
                    case CANCELLED -> "The worker stopped responding while cancelling; the job is cancelled";
                    case PAUSED -> "The worker stopped responding while pausing; the job is paused at its last"
                            + " checkpoint";
                    case FAILED -> "The worker stopped responding " + reaped.attempts() + " times; the job failed";
                    case RUNNING, CANCELLING, PAUSING, SUCCEEDED -> throw new IllegalStateException(
                            "the reaper has no arrow into " + reaped.newState());
                };
                events.message(reaped.jobId(), reaped.newState() == JobState.FAILED ? JobJournal.Level.error
                        : JobJournal.Level.warn, message);
                log.info("reaper: job {} -> {}", reaped.jobId(), reaped.newState());
            }
        } catch (RuntimeException e) {
            log.warn("reaper failed: {}", e.getMessage());
        }
    }

    /** Runs the reaper now; the scheduler also runs it every half lease. */
    public void reapNow() {
        reap();
    }

    @EventListener
    void onSubmitted(JobSignals.Submitted submitted) {
        lock.lock();
        try {
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @EventListener
    void onCancel(JobSignals.CancelRequested cancel) {
        RunControl control = running.get(cancel.jobId());
        if (control != null) {
            control.request(RunControl.Stop.CANCEL);
        }
    }

    @EventListener
    void onPause(JobSignals.PauseRequested pause) {
        RunControl control = running.get(pause.jobId());
        if (control != null) {
            control.request(RunControl.Stop.PAUSE);
        }
    }

    /** Whether a worker of this process runs the job right now. */
    public boolean runs(String jobId) {
        return running.containsKey(jobId);
    }

    /** Jobs running in this process right now. */
    public int runningCount() {
        return running.size();
    }

    @Override
    public void stop() {
        stopping = true;
        running.values().forEach(control -> control.request(RunControl.Stop.SHUTDOWN));
        onSubmitted(null);
        for (Thread thread : threads) {
            try {
                thread.join(settings.shutdownTimeout().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        threads.clear();
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
        started = false;
        log.info("workers stopped");
    }

    @Override
    public boolean isRunning() {
        return started;
    }

    static String localNodeName() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "localhost";
        }
        return host + ":" + ManagementFactory.getRuntimeMXBean().getPid();
    }
}
