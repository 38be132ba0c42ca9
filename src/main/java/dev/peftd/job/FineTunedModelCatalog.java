package dev.peftd.job;

import dev.peftd.catalog.FineTunedModels;
import dev.peftd.kernel.Refusal;
import dev.peftd.queue.JobSpec;
import dev.peftd.queue.JobState;
import dev.peftd.serving.FineTunedModelServing;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import dev.peftd.worker.JobJournal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/**
 * The fine-tuned models jobs made: a succeeded job's final adapter ({@code ft:<base>:<suffix>:<job>}) and every
 * checkpoint a job lists ({@code …:ckpt-step-N}, the name {@code checkpoints.list} returns), each served from the PEFT
 * directory stored with it. Deleting one removes its files and its listing; the job itself stays, as OpenAI keeps it.
 */
@Component
class FineTunedModelCatalog implements FineTunedModels {

    private static final Pattern CHECKPOINT = Pattern.compile("(ft:.+):ckpt-step-([0-9]{1,9})");

    private final Jobs jobs;
    private final JobCheckpoints checkpoints;
    private final FineTunedModelServing serving;
    private final ArtifactStore store;
    private final JobEvents events;
    private final Clock clock;

    FineTunedModelCatalog(Jobs jobs, JobCheckpoints checkpoints, FineTunedModelServing serving, ArtifactStore store,
            JobEvents events, Clock clock) {
        this.jobs = jobs;
        this.checkpoints = checkpoints;
        this.serving = serving;
        this.store = store;
        this.events = events;
        this.clock = clock;
    }

    /** {@code ft:<base>:<suffix>:<job>:ckpt-step-N}: a checkpoint's name as a model. */
    static String checkpointName(String fineTunedModel, int step) {
        return fineTunedModel + ":ckpt-step-" + step;
    }

    @Override
    public List<FineTunedModel> fineTunedModels(String tenant) {
        List<FineTunedModel> models = new ArrayList<>();
        jobs.withModels(tenant).forEach(job -> models.add(finalModel(job)));
        for (JobCheckpoints.OfTenant c : checkpoints.ofTenant(tenant)) {
            String jobModel = JobSpec.fineTunedModelName(c.model(), c.suffix(), c.checkpoint().jobId());
            models.add(checkpointModel(tenant, jobModel, c.model(), c.checkpoint()));
        }
        return models;
    }

    @Override
    public Optional<FineTunedModel> fineTunedModel(String tenant, String id) {
        Matcher m = CHECKPOINT.matcher(id);
        if (!m.matches()) {
            return jobs.withModel(tenant, id).map(FineTunedModelCatalog::finalModel);
        }
        String jobModel = m.group(1);
        String jobId = jobModel.substring(jobModel.lastIndexOf(':') + 1);
        return jobs.withCheckpointModels(tenant, jobId).filter(job -> job.fineTunedModelName().equals(jobModel))
                .flatMap(job -> checkpoints.at(job.id(), Integer.parseInt(m.group(2)))
                        .map(c -> checkpointModel(tenant, jobModel, job.model(), c)));
    }

    @Override
    public void delete(String tenant, String id) {
        FineTunedModel model = fineTunedModel(tenant, id).orElseThrow(() -> Refusal.notFound("model", id));
        JobRecord job = jobs.find(tenant, model.jobId()).orElseThrow(() -> Refusal.notFound("model", id));
        if (model.checkpointStep() != null && job.status().active()) {
            throw new Refusal(Refusal.Kind.CONFLICT, "model '" + id + "' is a checkpoint of job '" + job.id()
                    + "', which is " + job.status().wire() + " and may still continue from it; delete it once the job"
                    + " has finished", List.of(new Refusal.FieldError("model", "its job is " + job.status().wire())));
        }
        boolean whole = model.checkpointStep() == null;
        List<FineTunedModel> going = new ArrayList<>(List.of(model));
        if (whole) {   // the job's checkpoints are versions of this model: they go with it
            checkpoints.list(job.id(), null, Integer.MAX_VALUE)
                    .forEach(c -> going.add(checkpointModel(tenant, id, job.model(), c)));
        }
        try {
            serving.retire(tenant, id, going);   // refused while a request holds one of them
            if (whole) {
                jobs.markModelDeleted(tenant, job.id(), clock.instant());
                checkpoints.deleteAll(job.id());
                store.deleteAll(model.adapterKey());
                store.deleteAll(ObjectKeys.checkpoints(tenant, job.id()));
            } else {
                checkpoints.delete(job.id(), model.checkpointStep());
                store.deleteAll(ObjectKeys.checkpoint(tenant, job.id(), model.checkpointStep()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("deleting model '" + id + "': " + e.getMessage(), e);
        }
        events.message(job.id(), JobJournal.Level.info, "Model " + id + " deleted"
                + (whole && going.size() > 1 ? " with its " + (going.size() - 1) + " checkpoint(s)" : ""));
    }

    /**
     * The store prefix of the adapter {@code GET …/jobs/{id}/adapter} zips: the job's final adapter, or with
     * {@code step} its checkpoint's.
     */
    String downloadable(String tenant, JobRecord job, Integer step) {
        if (step == null) {
            if (job.status() != JobState.SUCCEEDED || job.adapterKey() == null) {
                throw new Refusal(Refusal.Kind.CONFLICT, "job '" + job.id() + "' is " + job.status().wire()
                        + "; its adapter can be downloaded once it succeeded", List.of(new Refusal.FieldError(
                        "status", job.status().wire())));
            }
            return jobs.withModel(tenant, job.fineTunedModel()).map(JobRecord::adapterKey)
                    .orElseThrow(() -> Refusal.notFound("model", job.fineTunedModel()));
        }
        String name = checkpointName(job.fineTunedModelName(), step);
        String prefix = fineTunedModel(tenant, name).map(FineTunedModel::adapterKey)
                .orElseThrow(() -> new Refusal(Refusal.Kind.NOT_FOUND, "job '" + job.id() + "' lists no checkpoint"
                        + " at step " + step, List.of(new Refusal.FieldError("step", "no such checkpoint"))));
        try {
            if (!store.exists(prefix + "adapter_config.json")) {
                throw new Refusal(Refusal.Kind.NOT_FOUND, "the checkpoint at step " + step + " of job '" + job.id()
                        + "' was saved without an adapter export", List.of(new Refusal.FieldError("step",
                        "no adapter")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return prefix;
    }

    private static FineTunedModel finalModel(JobRecord job) {
        return new FineTunedModel(job.fineTunedModel(), job.model(), job.id(),
                job.finishedAt() == null ? job.createdAt().getEpochSecond() : job.finishedAt().getEpochSecond(),
                job.adapterKey(), null);
    }

    private static FineTunedModel checkpointModel(String tenant, String jobModel, String base,
            JobCheckpoints.Checkpoint c) {
        return new FineTunedModel(checkpointName(jobModel, c.stepNumber()), base, c.jobId(),
                c.createdAt().getEpochSecond(), ObjectKeys.checkpointAdapter(tenant, c.jobId(), c.stepNumber()),
                c.stepNumber());
    }
}
