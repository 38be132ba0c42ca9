package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import dev.peftd.api.IdempotencyKeys;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.security.Tenant;
import dev.peftd.storage.S3Settings;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Base models per tenant. Registering checks the source at once (syntax, which folders and buckets it may read) and
 * the tenant's model limit, then returns with status {@code loading}; a background task fetches the files (Hub, S3)
 * and checks them (config values, tokenizer, weights), then marks the model {@code ready} or {@code failed} with the
 * reason in parts. Registrations left {@code loading} by a stopped process are picked up again at start-up.
 */
@Service
public class ModelRegistry {

    /** Model ids: no ':' (it separates the parts of a fine-tuned name) and no '/' (it is a path segment). */
    static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);

    private final BaseModelRepository repository;
    private final IdempotencyKeys idempotency;
    private final ModelPreparation preparation;
    private final Executor executor;
    private final TransactionTemplate transactions;
    private final Clock clock;
    private final LocalModelFolders localFolders;
    private final S3ModelSources s3Sources;
    private final int maxModelsPerTenant;
    private final Set<BaseModel.Key> inFlight = ConcurrentHashMap.newKeySet();

    ModelRegistry(BaseModelRepository repository, IdempotencyKeys idempotency, ModelPreparation preparation,
            @Qualifier("modelLoadingExecutor") Executor executor, TransactionTemplate transactions, Clock clock,
            LocalModelFolders localFolders, S3Settings s3,
            CatalogProperties properties) {
        this.repository = repository;
        this.idempotency = idempotency;
        this.preparation = preparation;
        this.executor = executor;
        this.transactions = transactions;
        this.clock = clock;
        this.localFolders = localFolders;
        this.s3Sources = new S3ModelSources(s3);
        this.maxModelsPerTenant = properties.limits().modelsPerTenant();
    }

    /** @param dtype {@code null} for {@link #DEFAULT_DTYPE} */
    BaseModel register(Tenant tenant, String id, String source, String dtype, String idempotencyKey) {
        if (id == null || !MODEL_ID.matcher(id).matches()) {
            throw Refusal.invalidField("id", "must match " + MODEL_ID.pattern() + " (no ':' or '/')");
        }
        ModelDtype type = dtypeOf(dtype);
        ModelSource parsed = readable(ModelSource.parse(source));
        BaseModel model = idempotency.create(tenant.name(), "model.create", idempotencyKey,
                IdempotencyKeys.hash(id, source, type.externalName()),
                () -> {
                    if (repository.existsById(new BaseModel.Key(tenant.name(), id))) {
                        throw new Refusal(Refusal.Kind.CONFLICT, "model '" + id + "' is already registered",
                                List.of(new Refusal.FieldError("id", "already registered")));
                    }
                    requireRoomFor(tenant.name());
                    repository.save(new BaseModel(tenant.name(), id, source, type, clock.instant()));
                    return id;
                },
                created -> repository.findById(new BaseModel.Key(tenant.name(), created)).orElseThrow());
        if (model.status() == BaseModel.Status.loading) {
            prepareInBackground(model, parsed);
        }
        return model;
    }

    /**
     * auto unless the client asks, as transformers' {@code dtype="auto"}: a bf16 checkpoint stays bf16 (half the
     * memory) where the loading device computes bf16; where it does not, auto is float32, since emulated bf16 trained
     * at 12× float32's CPU time (README, "Half precision").
     */
    static final ModelDtype DEFAULT_DTYPE = ModelDtype.AUTO;

    private static ModelDtype dtypeOf(String dtype) {
        if (dtype == null) {
            return DEFAULT_DTYPE;
        }
        try {
            return ModelDtype.parse(dtype);
        } catch (IllegalArgumentException e) {
            throw Refusal.invalidField("dtype", "must be one of " + ModelDtype.names() + ", got '" + dtype + "'");
        }
    }

    /**
     * The checks a source gets before anything is stored: a local folder must be one this service may read (its
     * real path is what will be read), an S3 source needs a configured store that is not the artifact store.
     */
    private ModelSource readable(ModelSource source) {
        if (source instanceof ModelSource.Local local) {
            return new ModelSource.Local(localFolders.check(local.dir()));
        }
        if (source instanceof ModelSource.S3 s3) {
            s3Sources.check(s3);
        }
        return source;
    }

    /**
     * Refuses a registration past {@code peftd.limits.models-per-tenant} (every registration counts, merged models
     * and failed ones too: each is a row in every model list, and a loaded model holds memory). 429 as OpenAI answers
     * an exhausted quota; a client frees room by deleting a model.
     */
    public void requireRoomFor(String tenant) {
        if (repository.countByKeyTenant(tenant) >= maxModelsPerTenant) {
            throw new Refusal(Refusal.Kind.QUOTA_EXCEEDED, "this tenant has reached its limit of "
                    + maxModelsPerTenant + " registered models (PEFTD_LIMITS_MODELS_PER_TENANT); delete a failed "
                    + "registration or ask the operator to raise it",
                    List.of(new Refusal.FieldError("id", "limit of " + maxModelsPerTenant + " registered models reached")));
        }
    }

    /**
     * Registers a model whose files are already local and loadable (a merged adapter that serving wrote and
     * checked): ready at once, no background preparation.
     */
    public BaseModel registerPrepared(String tenant, String id, String source, ModelDtype dtype, Path dir,
            String architecture, long parameters) {
        if (id == null || !MODEL_ID.matcher(id).matches()) {
            throw Refusal.invalidField("id", "must match " + MODEL_ID.pattern() + " (no ':' or '/')");
        }
        return transactions.execute(status -> {
            if (repository.existsById(new BaseModel.Key(tenant, id))) {
                throw new Refusal(Refusal.Kind.CONFLICT, "model '" + id + "' is already registered",
                        List.of(new Refusal.FieldError("id", "already registered")));
            }
            requireRoomFor(tenant);
            BaseModel model = new BaseModel(tenant, id, source, dtype, clock.instant());
            model.ready(dir.toString(), architecture, parameters);
            return repository.save(model);
        });
    }

    /**
     * Deletes a registration that failed, which frees its place under the tenant's limit. Ready models stay: jobs,
     * fine-tuned models and adapters may name them.
     */
    void deleteFailed(Tenant tenant, String id) {
        transactions.executeWithoutResult(status -> {
            BaseModel model = repository.findById(new BaseModel.Key(tenant.name(), id))
                    .orElseThrow(() -> Refusal.notFound("model", id));
            if (model.status() != BaseModel.Status.failed) {
                throw new Refusal(Refusal.Kind.CONFLICT, "model '" + id + "' is " + model.status()
                        + "; only failed registrations can be deleted", List.of(new Refusal.FieldError("id",
                        "not failed")));
            }
            repository.delete(model);
        });
    }

    public Optional<BaseModel> find(String tenant, String id) {
        return repository.findById(new BaseModel.Key(tenant, id));
    }

    List<BaseModel> list(Tenant tenant) {
        return repository.findByKeyTenantOrderByCreatedAtAsc(tenant.name());
    }

    @EventListener(ApplicationReadyEvent.class)
    void resumeUnfinishedLoads() {
        for (BaseModel model : repository.findByStatus(BaseModel.Status.loading)) {
            try {
                prepareInBackground(model, readable(ModelSource.parse(model.source())));
            } catch (Refusal e) {
                markFailed(model.tenant(), model.id(), ModelFailure.of(e));
            }
        }
    }

    private void prepareInBackground(BaseModel model, ModelSource source) {
        BaseModel.Key key = new BaseModel.Key(model.tenant(), model.id());
        if (!inFlight.add(key)) {
            return;
        }
        executor.execute(() -> {
            try {
                ModelPreparation.Prepared prepared = preparation.prepare(model.tenant(), model.id(), source,
                        model.dtype());
                transactions.executeWithoutResult(status -> repository.findById(key).ifPresent(m -> {
                    m.ready(prepared.dir().toString(), prepared.architecture(), prepared.parameters());
                    repository.save(m);
                }));
                log.info("model {}/{} ready: {} from {}", model.tenant(), model.id(), prepared.architecture(), prepared.dir());
            } catch (ModelPreparation.Failed e) {
                log.warn("model {}/{} failed to load: {}", model.tenant(), model.id(), e.getMessage());
                markFailed(model.tenant(), model.id(), e.failure);
            } catch (RuntimeException e) {
                log.warn("model {}/{} failed to load", model.tenant(), model.id(), e);
                markFailed(model.tenant(), model.id(), ModelFailure.of(e));
            } finally {
                inFlight.remove(key);
            }
        });
    }

    private void markFailed(String tenant, String id, ModelFailure failure) {
        transactions.executeWithoutResult(status -> repository.findById(new BaseModel.Key(tenant, id)).ifPresent(m -> {
            m.failed(failure);
            repository.save(m);
        }));
    }
}
