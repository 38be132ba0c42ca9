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
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
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
    private final DatasetChecks datasetChecks;
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
        this.datasetChecks = new DatasetChecks(files, json);
        this.maxAttempts = properties.worker().maxAttempts();
        this.maxActiveJobs = properties.limits().activeJobsPerTenant();
    }

    /** The create body, OpenAI's fields; {@code method} and {@code hyperparameters} are read by {@link MethodParser}. */
    public record CreateRequest(String model, String trainingFile, String validationFile, String suffix, Long seed,
                                JsonNode hyperparameters, JsonNode method, Map<String, String> metadata,
                                JsonNode integrations) {
    }

    JobRecord create(Tenant tenant, CreateRequest request, String idempotencyKey) {
        TrainingMethod method = validate(tenant, request);
        long seed = request.seed() != null ? request.seed() : seeds.nextInt(Integer.MAX_VALUE);
        String metadata = request.metadata() == null ? null : json.writeValueAsString(request.metadata());
        String hash = IdempotencyKeys.hash(request.model(), request.trainingFile(), request.validationFile(),
                request.suffix(), String.valueOf(request.seed()), json.writeValueAsString(method), metadata);
        JobRecord created = idempotency.create(tenant.name(), "job.create", idempotencyKey, hash, () -> {
            requireRoomFor(tenant, 1);
            return insert(tenant, request, method, seed, metadata, Optional.empty());
        }, id -> jobs.find(tenant.name(), id).orElseThrow());
        publisher.publishEvent(new JobSignals.Submitted(created.id()));
        return created;
    }

    /**
     * Creates a group's jobs (a comparison's children) through the same checks and insert as {@link #create}, inside
     * the caller's transaction: every request is checked before any row is written, and the tenant's limit is checked
     * for all of them at once, so a group that would exceed it creates nothing. Workers are woken after the commit.
     *
     * @param group the id the jobs are labelled with ({@code comparison_id} on the row, on their meters)
     * @param requests each with its seed set
     * @return the new jobs' ids, in the order of the requests
     */
    public List<String> createGroup(Tenant tenant, String group, List<CreateRequest> requests) {
        List<TrainingMethod> methods = requests.stream().map(r -> validate(tenant, r)).toList();
        requireRoomFor(tenant, requests.size());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            CreateRequest request = requests.get(i);
            String metadata = request.metadata() == null ? null : json.writeValueAsString(request.metadata());
            ids.add(insert(tenant, request, methods.get(i), request.seed(), metadata, Optional.of(group)));
        }
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                ids.forEach(id -> publisher.publishEvent(new JobSignals.Submitted(id)));
            }
        });
        return ids;
    }

    private String insert(Tenant tenant, CreateRequest request, TrainingMethod method, long seed, String metadata,
            Optional<String> group) {
        String id = Ids.next("ftjob");
        jobs.insert(new NewJob(id, tenant.name(), request.model(),
                new NewJob.Datasets(request.trainingFile(), Optional.ofNullable(request.validationFile())),
                Optional.ofNullable(request.suffix()), seed, method, Optional.ofNullable(metadata), clock.instant(),
                maxAttempts, group));
        events.message(id, JobJournal.Level.info, "Created fine-tuning job: " + method.type() + " on " + request.model()
                + group.map(g -> " (comparison " + g + ")").orElse(""));
        return id;
    }

    /** A group's jobs, in the order they were created. */
    public List<JobRecord> group(Tenant tenant, String group) {
        return jobs.inGroup(tenant.name(), group);
    }

    /** Several groups' jobs in one read: each list in creation order, an empty list for a group without jobs. */
    public Map<String, List<JobRecord>> groups(Tenant tenant, Collection<String> groups) {
        Map<String, List<JobRecord>> found = jobs.inGroups(tenant.name(), groups);
        Map<String, List<JobRecord>> all = new LinkedHashMap<>();
        groups.forEach(g -> all.put(g, found.getOrDefault(g, List.of())));
        return all;
    }

    /**
     * Checks a {@code method} body as {@link #create} does, without a job: a feature above this one (a comparison)
     * refuses a bad setting before it creates anything.
     */
    public void checkMethod(JsonNode method) {
        methodParser.parse(method, null);
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
        refuseIntegrations(request.integrations());
        TrainingMethod method = methodParser.parse(request.method(), request.hyperparameters());
        requireValidationFileFor(method, request);
        CoreConfigs.check(method, request.seed() == null ? 0 : request.seed(), moduleNames(base));
        datasetChecks.check(tenant, base, request.trainingFile(), request.validationFile(),
                method.settings(0).maxSeqLength());
        return method;
    }

    /**
     * The evaluation loop's settings evaluate on the validation file: given without one, they are refused by their
     * JSON path rather than silently doing nothing.
     */
    private static void requireValidationFileFor(TrainingMethod method, CreateRequest request) {
        if (request.validationFile() != null) {
            return;
        }
        for (String name : dev.peftd.core.train.MethodSettings.NEED_VALIDATION_DATA) {
            Object value = method.hyperparameters().get(name);
            boolean set = value instanceof Number n ? n.longValue() != 0 : Boolean.TRUE.equals(value);
            if (set) {
                String type = request.method().get("type").asString();
                throw Refusal.invalidField("method." + type + ".hyperparameters." + name, "evaluates on the"
                        + " validation set, so it needs a validation_file; upload one with POST /v1/files");
            }
        }
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

    /** Inside the create transaction: the tenant's lock is held until the inserts commit. */
    private void requireRoomFor(Tenant tenant, int newJobs) {
        jobs.lockTenant(tenant.name());
        int active = jobs.countActive(tenant.name());
        if (active + newJobs > maxActiveJobs) {
            throw new Refusal(Refusal.Kind.QUOTA_EXCEEDED, "tenant '" + tenant.name() + "' already has " + active
                    + " queued or running fine-tuning jobs" + (newJobs == 1 ? "" : " and this request adds " + newJobs)
                    + ", the limit per tenant is " + maxActiveJobs
                    + (newJobs == 1 ? "; submit again when one has finished or cancel one"
                            : "; submit again when some have finished or cancel some"));
        }
    }

    /**
     * OpenAI's {@code integrations} report a run to an outside tracker; peftd has none yet, and taking one silently
     * would leave the user waiting for a run that never shows up there. An empty list asks for nothing.
     */
    private static void refuseIntegrations(JsonNode integrations) {
        if (integrations == null || integrations.isNull() || (integrations.isArray() && integrations.isEmpty())) {
            return;
        }
        if (!integrations.isArray()) {
            throw Refusal.invalidField("integrations", "must be an array like [{\"type\": \"wandb\", \"wandb\": {…}}]");
        }
        JsonNode type = integrations.get(0).path("type");
        String name = type.isString() ? "'" + type.asString() + "'" : "an integration without a string type";
        throw Refusal.invalidField("integrations[0].type", name + " is not supported: peftd reports to no outside"
                + " tracker; follow a job with GET /v1/fine_tuning/jobs/{id}/events (?stream=true for live events)"
                + " and /checkpoints");
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

    /** The ids of the results files of each job that has any (the worker stores them when a run ends). */
    Map<String, List<String>> resultFiles(String tenant, List<JobRecord> jobs) {
        return files.resultFilesOf(tenant, jobs.stream().map(JobRecord::id).toList());
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

    public JobRecord cancel(Tenant tenant, String id) {
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
