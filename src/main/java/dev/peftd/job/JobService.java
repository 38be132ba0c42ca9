package dev.peftd.job;

import dev.peftd.kernel.Refusal;
import dev.peftd.api.Ids;
import dev.peftd.api.IdempotencyKeys;
import dev.peftd.api.ListPage;
import dev.peftd.catalog.BaseModel;
import dev.peftd.catalog.Files;
import dev.peftd.catalog.ModelRegistry;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.queue.JobSignals;
import dev.peftd.queue.JobState;
import dev.peftd.security.Tenant;
import dev.peftd.worker.JobJournal;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Creating, reading and cancelling jobs; everything is checked before the row is inserted. */
@Service
public class JobService {

    private static final Pattern SUFFIX = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** OpenAI's limits for {@code metadata}: 16 pairs, keys up to 64 characters, values up to 512. */
    private static final int MAX_METADATA = 16;
    private static final int MAX_METADATA_KEY = 64;
    private static final int MAX_METADATA_VALUE = 512;

    private final Jobs jobs;
    private final JobEvents events;
    private final Files files;
    private final ModelRegistry models;
    private final IdempotencyKeys idempotency;
    private final ApplicationEventPublisher publisher;
    private final JsonMapper json;
    private final Clock clock;
    private final MethodParser methodParser;
    private final int maxAttempts;
    private final int maxActiveJobs;
    private final SecureRandom seeds = new SecureRandom();

    JobService(Jobs jobs, JobEvents events, Files files, ModelRegistry models, IdempotencyKeys idempotency,
            ApplicationEventPublisher publisher, JsonMapper json, Clock clock,
            JobProperties properties) {
        this.jobs = jobs;
        this.events = events;
        this.files = files;
        this.models = models;
        this.idempotency = idempotency;
        this.publisher = publisher;
        this.json = json;
        this.clock = clock;
        this.methodParser = new MethodParser(properties.training().checkpointEvery());
        this.maxAttempts = properties.worker().maxAttempts();
        this.maxActiveJobs = properties.limits().activeJobsPerTenant();
    }

    /** The create body, OpenAI's fields; {@code method} and {@code hyperparameters} are read by {@link MethodParser}. */
    record CreateRequest(String model, String trainingFile, String validationFile, String suffix, Long seed,
                         JsonNode hyperparameters, JsonNode method, Map<String, String> metadata) {
    }

    JobRecord create(Tenant tenant, CreateRequest request, String idempotencyKey) {
        TrainingMethod method = validate(tenant, request);
        long seed = request.seed() != null ? request.seed() : seeds.nextInt(Integer.MAX_VALUE);
        String metadata = request.metadata() == null ? null : json.writeValueAsString(request.metadata());
        String hash = IdempotencyKeys.hash(request.model(), request.trainingFile(), request.validationFile(),
                request.suffix(), String.valueOf(request.seed()), json.writeValueAsString(method), metadata);
        JobRecord created = idempotency.create(tenant.name(), "job.create", idempotencyKey, hash, () -> {
            requireRoomForAnotherJob(tenant);
            String id = Ids.next("ftjob");
            jobs.insert(new NewJob(id, tenant.name(), request.model(),
                    new NewJob.Datasets(request.trainingFile(), Optional.ofNullable(request.validationFile())),
                    Optional.ofNullable(request.suffix()), seed, method, Optional.ofNullable(metadata), clock.instant(),
                    maxAttempts));
            events.message(id, JobJournal.Level.info, "Created fine-tuning job: " + method.type() + " on " + request.model());
            return id;
        }, id -> jobs.find(tenant.name(), id).orElseThrow());
        publisher.publishEvent(new JobSignals.Submitted(created.id()));
        return created;
    }

    private TrainingMethod validate(Tenant tenant, CreateRequest request) {
        if (request.model() == null || request.model().isBlank()) {
            throw Refusal.invalidField("model", "missing; name a base model registered with POST /v1/models");
        }
        if (request.model().startsWith("ft:")) {
            throw Refusal.invalidField("model", "continuing from a fine-tuned model is not supported; name its base model");
        }
        BaseModel base = models.find(tenant.name(), request.model()).orElseThrow(() -> Refusal.invalidField("model",
                "no model '" + request.model() + "'; register it with POST /v1/models"));
        if (base.status() == BaseModel.Status.loading) {
            throw Refusal.invalidField("model", "model '" + base.id() + "' is still loading; retry when it is ready");
        }
        if (base.status() == BaseModel.Status.failed) {
            throw Refusal.invalidField("model", "model '" + base.id() + "' failed to load: " + base.failureReason());
        }
        requireFile(tenant, "training_file", request.trainingFile());
        if (request.validationFile() != null) {
            requireFile(tenant, "validation_file", request.validationFile());
        }
        if (request.suffix() != null && !SUFFIX.matcher(request.suffix()).matches()) {
            throw Refusal.invalidField("suffix", "1 to 64 characters from [A-Za-z0-9_-]");
        }
        if (request.seed() != null && (request.seed() < 0 || request.seed() > Integer.MAX_VALUE)) {
            throw Refusal.invalidField("seed", "must be between 0 and " + Integer.MAX_VALUE);
        }
        checkMetadata(request.metadata());
        TrainingMethod method = methodParser.parse(request.method(), request.hyperparameters());
        CoreConfigs.check(method, request.seed() == null ? 0 : request.seed(), moduleNames(base));
        return method;
    }

    /** The base model's module names, for checking target_modules against them; null when its files cannot be read. */
    private static Set<String> moduleNames(BaseModel base) {
        if (base.localPath() == null) {
            return null;
        }
        try {
            return ModelLoader.moduleNames(Path.of(base.localPath()));
        } catch (IOException | RuntimeException e) {
            return null; // the run reports an unreadable model; submission falls back to typical names
        }
    }

    /** Inside the create transaction: the tenant's lock is held until the insert commits. */
    private void requireRoomForAnotherJob(Tenant tenant) {
        jobs.lockTenant(tenant.name());
        int active = jobs.countActive(tenant.name());
        if (active >= maxActiveJobs) {
            throw new Refusal(Refusal.Kind.QUOTA_EXCEEDED, "tenant '" + tenant.name() + "' already has " + active
                    + " queued or running fine-tuning jobs, the limit per tenant is " + maxActiveJobs
                    + "; submit again when one has finished or cancel one");
        }
    }

    private static void checkMetadata(Map<String, String> metadata) {
        if (metadata == null) {
            return;
        }
        if (metadata.size() > MAX_METADATA) {
            throw Refusal.invalidField("metadata", "at most " + MAX_METADATA + " key/value pairs, got " + metadata.size());
        }
        for (Map.Entry<String, String> pair : metadata.entrySet()) {
            String key = pair.getKey();
            if (key.length() > MAX_METADATA_KEY) {
                throw Refusal.invalidField("metadata", "keys are at most " + MAX_METADATA_KEY + " characters; '"
                        + key.substring(0, 20) + "…' has " + key.length());
            }
            if (pair.getValue() != null && pair.getValue().length() > MAX_METADATA_VALUE) {
                throw Refusal.invalidField("metadata." + key, "values are at most " + MAX_METADATA_VALUE
                        + " characters, got " + pair.getValue().length());
            }
        }
    }

    private void requireFile(Tenant tenant, String field, String fileId) {
        if (fileId == null || fileId.isBlank()) {
            throw Refusal.invalidField(field, "missing; upload a JSONL file with POST /v1/files");
        }
        if (files.find(tenant, fileId).isEmpty()) {
            throw Refusal.invalidField(field, "no file with id '" + fileId + "'");
        }
    }

    public JobRecord get(Tenant tenant, String id) {
        return jobs.find(tenant.name(), id).orElseThrow(() -> Refusal.notFound("fine-tuning job", id));
    }

    ListPage<JobRecord> list(Tenant tenant, String after, int limit) {
        if (after != null) {
            get(tenant, after);
        }
        return ListPage.fromOverfetch(jobs.page(tenant.name(), after, limit + 1), limit, j -> j);
    }

    JobRecord cancel(Tenant tenant, String id) {
        JobRecord job = get(tenant, id);
        var changed = jobs.cancel(tenant.name(), id, clock.instant());
        if (changed.isEmpty()) {
            if (currentState(tenant, job) == JobState.CANCELLING) {
                return get(tenant, id);
            }
            throw wrongState(tenant, job, "can no longer be cancelled");
        }
        if (changed.get() == JobState.CANCELLED) {
            events.message(id, JobJournal.Level.info, job.status() == JobState.PAUSED ? "Job cancelled while paused"
                    : "Job cancelled before it started");
        } else {
            events.message(id, JobJournal.Level.info, "Cancellation requested; the job stops at the next step");
            publisher.publishEvent(new JobSignals.CancelRequested(id));
        }
        return get(tenant, id);
    }

    /**
     * OpenAI's pause: a queued job is parked at once; a running one checkpoints at its next step boundary and gives its
     * worker back ({@code pausing}, then {@code paused}). Pausing a job that is already pausing or paused changes
     * nothing.
     */
    JobRecord pause(Tenant tenant, String id) {
        JobRecord job = get(tenant, id);
        var changed = jobs.pause(tenant.name(), id);
        if (changed.isEmpty()) {
            JobState now = currentState(tenant, job);
            if (now == JobState.PAUSING || now == JobState.PAUSED) {
                return get(tenant, id);
            }
            throw wrongState(tenant, job, "cannot be paused; only a queued or running job can");
        }
        if (changed.get() == JobState.PAUSED) {
            events.message(id, JobJournal.Level.info, "Job paused while queued; resume it to queue it again");
        } else {
            events.message(id, JobJournal.Level.info,
                    "Pause requested; the job checkpoints at the next step and gives its worker back");
            publisher.publishEvent(new JobSignals.PauseRequested(id));
        }
        return get(tenant, id);
    }

    /** OpenAI's resume: a paused job is queued again and continues from the checkpoint it was paused at. */
    JobRecord resume(Tenant tenant, String id) {
        JobRecord job = get(tenant, id);
        if (!jobs.resume(tenant.name(), id)) {
            throw wrongState(tenant, job, "cannot be resumed; only a paused job can");
        }
        Integer step = job.checkpointStep();
        events.message(id, JobJournal.Level.info, "Job resumed; queued to continue from "
                + (step == null ? "the first step" : "the checkpoint at step " + step));
        publisher.publishEvent(new JobSignals.Submitted(id));
        return get(tenant, id);
    }

    private JobState currentState(Tenant tenant, JobRecord before) {
        return jobs.find(tenant.name(), before.id()).map(JobRecord::status).orElse(before.status());
    }

    /** 409 naming the state the job is in now (it may have moved since it was read). */
    private Refusal wrongState(Tenant tenant, JobRecord job, String what) {
        JobState now = currentState(tenant, job);
        return new Refusal(Refusal.Kind.CONFLICT, "job '" + job.id() + "' is " + now.wire() + " and " + what,
                List.of(new Refusal.FieldError("status", now.wire())));
    }
}
