package dev.peftd.catalog;

import dev.peftd.api.ApiProblem;
import dev.peftd.api.IdempotencyKeys;
import dev.peftd.security.Tenant;
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
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Base models per tenant. Registering returns at once with status {@code loading}; a background task fetches the
 * files (Hub, S3) and checks that the model loads, then marks it {@code ready} or {@code failed} with the reason.
 * Registrations left {@code loading} by a stopped process are picked up again at start-up.
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
    private final List<Path> allowedRoots;
    private final Set<BaseModel.Key> inFlight = ConcurrentHashMap.newKeySet();

    ModelRegistry(BaseModelRepository repository, IdempotencyKeys idempotency, ModelPreparation preparation,
            @Qualifier("modelLoadingExecutor") Executor executor, TransactionTemplate transactions, Clock clock,
            @Value("${peftd.models.roots:}") String allowedRoots) {
        this.repository = repository;
        this.idempotency = idempotency;
        this.preparation = preparation;
        this.executor = executor;
        this.transactions = transactions;
        this.clock = clock;
        this.allowedRoots = java.util.Arrays.stream(allowedRoots.split(",")).map(String::trim).filter(r -> !r.isEmpty())
                .map(r -> Path.of(r).toAbsolutePath().normalize()).toList();
    }

    BaseModel register(Tenant tenant, String id, String source, String idempotencyKey) {
        if (id == null || !MODEL_ID.matcher(id).matches()) {
            throw ApiProblem.invalidField("id", "must match " + MODEL_ID.pattern() + " (no ':' or '/')");
        }
        ModelSource parsed = ModelSource.parse(source, allowedRoots);
        BaseModel model = idempotency.create(tenant.name(), "model.create", idempotencyKey,
                IdempotencyKeys.hash(id, source),
                () -> {
                    if (repository.existsById(new BaseModel.Key(tenant.name(), id))) {
                        throw new ApiProblem(ApiProblem.Type.CONFLICT, "model '" + id + "' is already registered",
                                List.of(new ApiProblem.FieldError("id", "already registered")));
                    }
                    repository.save(new BaseModel(tenant.name(), id, source, clock.instant()));
                    return id;
                },
                created -> repository.findById(new BaseModel.Key(tenant.name(), created)).orElseThrow());
        if (model.status() == BaseModel.Status.loading) {
            prepareInBackground(model, parsed);
        }
        return model;
    }

    /**
     * Registers a model whose files are already local and loadable (a merged adapter that serving wrote and
     * checked): ready at once, no background preparation.
     */
    public BaseModel registerPrepared(String tenant, String id, String source, Path dir, String architecture,
            long parameters) {
        if (id == null || !MODEL_ID.matcher(id).matches()) {
            throw ApiProblem.invalidField("id", "must match " + MODEL_ID.pattern() + " (no ':' or '/')");
        }
        return transactions.execute(status -> {
            if (repository.existsById(new BaseModel.Key(tenant, id))) {
                throw new ApiProblem(ApiProblem.Type.CONFLICT, "model '" + id + "' is already registered",
                        List.of(new ApiProblem.FieldError("id", "already registered")));
            }
            BaseModel model = new BaseModel(tenant, id, source, clock.instant());
            model.ready(dir.toString(), architecture, parameters);
            return repository.save(model);
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
                prepareInBackground(model, ModelSource.parse(model.source(), allowedRoots));
            } catch (ApiProblem e) {
                markFailed(model.tenant(), model.id(), e.getMessage());
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
                ModelPreparation.Prepared prepared = preparation.prepare(model.tenant(), model.id(), source);
                transactions.executeWithoutResult(status -> repository.findById(key).ifPresent(m -> {
                    m.ready(prepared.dir().toString(), prepared.architecture(), prepared.parameters());
                    repository.save(m);
                }));
                log.info("model {}/{} ready: {} from {}", model.tenant(), model.id(), prepared.architecture(), prepared.dir());
            } catch (Exception e) {
                String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                log.warn("model {}/{} failed to load: {}", model.tenant(), model.id(), reason);
                markFailed(model.tenant(), model.id(), reason);
            } finally {
                inFlight.remove(key);
            }
        });
    }

    private void markFailed(String tenant, String id, String reason) {
        transactions.executeWithoutResult(status -> repository.findById(new BaseModel.Key(tenant, id)).ifPresent(m -> {
            m.failed(reason);
            repository.save(m);
        }));
    }
}
