package dev.peftd.job;

import dev.peftd.security.Tenant;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * Follows a job's event log for SSE clients: polls the table (events come from any worker on any node, so the
 * database is the one place to watch), sends new events oldest first, and ends with {@code [DONE]} after the job
 * reached a terminal state and every event was sent.
 */
@Component
class EventStreams implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(EventStreams.class);
    private static final int BATCH = 500;

    private final JobEvents events;
    private final Jobs jobs;
    private final long pollMillis;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sse-events");
        t.setDaemon(true);
        return t;
    });

    EventStreams(JobEvents events, Jobs jobs, JobProperties properties) {
        this.events = events;
        this.jobs = jobs;
        this.pollMillis = properties.events().streamPoll().toMillis();
    }

    void follow(Tenant tenant, String jobId, long afterSeq, SseEmitter emitter) {
        AtomicLong cursor = new AtomicLong(afterSeq);
        AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
        Runnable stop = () -> {
            ScheduledFuture<?> f = task.get();
            if (f != null) {
                f.cancel(false);
            }
        };
        emitter.onCompletion(stop);
        emitter.onTimeout(stop);
        emitter.onError(e -> stop.run());
        task.set(poller.scheduleWithFixedDelay(() -> {
            try {
                // read the status first: events written before a terminal status are then guaranteed to be seen
                boolean finished = jobs.find(tenant.name(), jobId).map(j -> j.status().terminal()).orElse(true);
                List<JobEvents.Event> batch;
                do {
                    batch = events.after(jobId, cursor.get(), BATCH);
                    for (JobEvents.Event event : batch) {
                        emitter.send(SseEmitter.event().id(event.id()).data(JobViews.Event.of(event),
                                MediaType.APPLICATION_JSON));
                        cursor.set(event.seq());
                    }
                } while (batch.size() == BATCH);
                if (finished) {
                    emitter.send(SseEmitter.event().data("[DONE]"));
                    emitter.complete();
                    stop.run();
                }
            } catch (IOException | IllegalStateException e) {
                stop.run();   // client went away
            } catch (RuntimeException e) {
                log.warn("event stream of {} failed: {}", jobId, e.toString());
                emitter.completeWithError(e);
                stop.run();
            }
        }, 0, pollMillis, TimeUnit.MILLISECONDS));
    }

    @Override
    public void destroy() {
        poller.shutdownNow();
    }
}
