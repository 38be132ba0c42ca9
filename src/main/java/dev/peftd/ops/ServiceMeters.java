package dev.peftd.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.stereotype.Component;

/**
 * The service's own meters, all named {@code peftd_*} in Prometheus:
 * <ul>
 *   <li>{@code peftd_worker_busy{worker,device}} 1 while a worker trains, 0 when idle; {@code peftd_workers} slots</li>
 *   <li>{@code peftd_jobs_running} jobs training in this process</li>
 *   <li>{@code peftd_job_outcomes_total{outcome}} and {@code peftd_job_run_seconds{outcome}} per finished run</li>
 *   <li>{@code peftd_training_steps_total}, {@code peftd_training_tokens_total}</li>
 *   <li>{@code peftd_training_loss{job_id,method,comparison_id}} and
 *       {@code peftd_training_tokens_per_second{job_id,method,comparison_id}} while a job runs; removed when it ends,
 *       so the label only lives as long as the job. {@code comparison_id} names the comparison a job is a child of
 *       (empty for a plain job), so a dashboard can show a comparison's runs side by side by method</li>
 * </ul>
 * Queue depth by status ({@code peftd_jobs{status}}) is in {@link QueueDepthMeter}. The registry is process-wide, so
 * the per-job series name every tenant's jobs: the endpoints that expose it take operator keys only (see
 * {@code SecurityConfiguration}).
 */
@Component
public class ServiceMeters {

    /** Not {@code job}: Prometheus owns that label (the scrape job) and renames a target's own to {@code exported_job}. */
    static final String JOB_TAG = "job_id";
    static final String COMPARISON_TAG = "comparison_id";
    static final String METHOD_TAG = "method";

    /**
     * What a running job's gauges are labelled with.
     *
     * @param method     the adapter method's id ({@code lora}, {@code vera}, …)
     * @param comparison the comparison the job is a child of, if any
     */
    public record JobLabels(String jobId, String method, Optional<String> comparison) {
    }

    private final MeterRegistry registry;
    private final Map<String, AtomicInteger> busy = new ConcurrentHashMap<>();
    private final AtomicInteger runningJobs = new AtomicInteger();
    private final Map<String, JobGauges> jobs = new ConcurrentHashMap<>();
    private final Counter steps;
    private final Counter tokens;

    ServiceMeters(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("peftd.jobs.running", runningJobs, AtomicInteger::get)
                .description("Jobs training in this process").register(registry);
        Gauge.builder("peftd.workers", busy, Map::size).description("Worker slots in this process").register(registry);
        this.steps = Counter.builder("peftd.training.steps").description("Optimizer steps completed").register(registry);
        this.tokens = Counter.builder("peftd.training.tokens").description("Tokens trained on").register(registry);
    }

    public void registerWorker(String worker, String device) {
        AtomicInteger state = busy.computeIfAbsent(worker, w -> new AtomicInteger());
        Gauge.builder("peftd.worker.busy", state, AtomicInteger::get)
                .description("1 while the worker trains a job, 0 when idle")
                .tags(Tags.of("worker", worker, "device", device)).register(registry);
    }

    public void busy(String worker, boolean isBusy) {
        AtomicInteger state = busy.get(worker);
        if (state != null) {
            state.set(isBusy ? 1 : 0);
        }
        runningJobs.addAndGet(isBusy ? 1 : -1);
    }

    public void outcome(String outcome, long nanos) {
        Counter.builder("peftd.job.outcomes").description("Finished job runs by outcome")
                .tag("outcome", outcome).register(registry).increment();
        Timer.builder("peftd.job.run").description("Wall time of a job run (one attempt)")
                .tag("outcome", outcome).register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** After every optimizer step of a running job. */
    public void step(JobLabels job, double loss, double tokensPerSecond, long stepTokens) {
        JobGauges gauges = jobs.computeIfAbsent(job.jobId(), id -> gaugesFor(job));
        gauges.loss.set(loss);
        gauges.tokensPerSecond.set(tokensPerSecond);
        steps.increment();
        tokens.increment(stepTokens);
    }

    /** Removes the per-job gauges when the job stops running here. */
    public void jobEnded(String jobId) {
        JobGauges gauges = jobs.remove(jobId);
        if (gauges != null) {
            registry.remove(gauges.lossGauge);
            registry.remove(gauges.tokensGauge);
        }
    }

    private JobGauges gaugesFor(JobLabels job) {
        Tags tags = Tags.of(JOB_TAG, job.jobId(), METHOD_TAG, job.method(), COMPARISON_TAG, job.comparison().orElse(""));
        AtomicReference<Double> loss = new AtomicReference<>(Double.NaN);
        AtomicReference<Double> rate = new AtomicReference<>(0.0);
        Gauge lossGauge = Gauge.builder("peftd.training.loss", loss, AtomicReference::get)
                .description("Training loss of the last step").tags(tags).register(registry);
        Gauge tokensGauge = Gauge.builder("peftd.training.tokens.per.second", rate, AtomicReference::get)
                .description("Training throughput of the last step").tags(tags).register(registry);
        return new JobGauges(loss, rate, lossGauge, tokensGauge);
    }

    private record JobGauges(AtomicReference<Double> loss, AtomicReference<Double> tokensPerSecond, Gauge lossGauge,
                             Gauge tokensGauge) {
    }
}
