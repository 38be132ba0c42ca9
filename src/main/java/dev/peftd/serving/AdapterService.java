package dev.peftd.serving;

import dev.peftd.kernel.Refusal;
import dev.peftd.api.Ids;
import dev.peftd.catalog.ModelRegistry;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.kernel.DataDirectory;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.springframework.stereotype.Service;
import org.springframework.util.FileSystemUtils;

/**
 * Uploaded adapters: validated against the tenant's base model before anything is stored, kept in the object
 * store, dropped from the serving cache on delete, and merged into a new base model on request.
 */
@Service
class AdapterService {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AdapterService.class);

    private final ServedAdapters adapters;
    private final ServedModels models;
    private final ServingEngine engine;
    private final ArtifactStore store;
    private final AdapterDownloads downloads;
    private final ModelRegistry registry;
    private final DataDirectory data;
    private final Clock clock;
    private final AdapterZip zips;

    AdapterService(ServedAdapters adapters, ServedModels models, ServingEngine engine, ArtifactStore store,
            AdapterDownloads downloads, ModelRegistry registry, DataDirectory data, Clock clock,
            AdapterZipLimits zipLimits) {
        this.adapters = adapters;
        this.models = models;
        this.engine = engine;
        this.store = store;
        this.downloads = downloads;
        this.registry = registry;
        this.data = data;
        this.clock = clock;
        this.zips = new AdapterZip(zipLimits.adapterZipMaxBytes().toBytes(), zipLimits.adapterZipMaxEntries());
    }

    ServedAdapter upload(String tenant, String baseModel, String name, InputStream zip) throws IOException {
        if (baseModel == null || baseModel.isBlank()) {
            throw Refusal.invalidField("base_model", "is required");
        }
        if (name != null && (name.isBlank() || name.startsWith("ft:") || name.contains("/"))) {
            throw Refusal.invalidField("name", "must be non-empty, without '/' and not start with 'ft:'");
        }
        if (name != null && (adapters.nameTaken(tenant, name) || registry.find(tenant, name).isPresent())) {
            throw new Refusal(Refusal.Kind.CONFLICT, "the name '" + name + "' is already used by a model or adapter",
                    List.of(new Refusal.FieldError("name", "already used")));
        }
        Path baseDir = models.baseDir(tenant, baseModel);
        ModelDtype dtype = models.dtype(tenant, baseModel);
        Path scratch = Files.createTempDirectory(data.resolve("serving"), "upload-");
        try {
            Path dir = unpack(zip, scratch);
            AdapterValidator.Summary summary = validate(dir, baseDir, dtype, baseModel);
            String id = Ids.next("adapter");
            store.putDirectory(ObjectKeys.servedAdapter(tenant, id), dir);
            ServedAdapter adapter = new ServedAdapter(id, tenant, name, baseModel, summary.method(), summary.rank(),
                    summary.modules().size(), summary.bytes(), null, clock.instant());
            adapters.insert(adapter);
            return adapter;
        } finally {
            FileSystemUtils.deleteRecursively(scratch);
        }
    }

    ServedAdapter get(String tenant, String id) {
        return adapters.find(tenant, id).orElseThrow(() -> Refusal.notFound("adapter", id));
    }

    List<ServedAdapter> list(String tenant) {
        return adapters.list(tenant);
    }

    void delete(String tenant, String id) throws IOException {
        ServedAdapter adapter = get(tenant, id);
        adapters.delete(tenant, adapter.id());
        String prefix = ObjectKeys.servedAdapter(tenant, adapter.id());
        engine.adapters().invalidate(prefix);
        store.deleteAll(prefix);
        downloads.forget(tenant + "/" + adapter.id());
    }

    /**
     * Writes the merged checkpoint (from the shared base, which stays untouched), stores it under
     * {@code merged/{tenant}/{id}/} and registers it as the base model {@code modelId}.
     */
    ServedAdapter merge(String tenant, String id, String modelId) throws IOException {
        ServedAdapter adapter = get(tenant, id);
        if (adapter.mergedModel() != null) {
            throw new Refusal(Refusal.Kind.CONFLICT, "adapter '" + adapter.id() + "' is already merged into model '"
                    + adapter.mergedModel() + "'", List.of(new Refusal.FieldError("id", "already merged")));
        }
        String target = mergeTarget(tenant, modelId, adapter.id());
        writeMerged(tenant, models.resolve(tenant, adapter.id()), adapter.id(), target);
        adapters.setMergedModel(tenant, adapter.id(), target);
        return get(tenant, adapter.id());
    }

    /**
     * Merges a fine-tuned model's adapter ({@code ft:…}, a checkpoint's too) the same way; the checkpoint is stored
     * under {@code merged/{tenant}/{job id}/} ({@code {job id}-step-N} for a checkpoint).
     *
     * @return the registered base model id and the name its files are stored under
     */
    Merged mergeFineTuned(String tenant, String fineTunedModel, String modelId) throws IOException {
        String storeName = models.fineTunedStoreName(tenant, fineTunedModel);
        String target = mergeTarget(tenant, modelId, storeName);
        writeMerged(tenant, models.resolve(tenant, fineTunedModel), storeName, target);
        return new Merged(target, storeName);
    }

    record Merged(String model, String storeName) {
    }

    /** Files of a checkpoint merged under {@code storeName} (an adapter id or a job id). */
    List<String> mergedFilesOf(String tenant, String storeName) throws IOException {
        String prefix = ObjectKeys.mergedModel(tenant, storeName);
        return store.list(prefix).stream().map(k -> k.substring(prefix.length())).toList();
    }

    private String mergeTarget(String tenant, String requested, String storeName) {
        String target = requested == null || requested.isBlank() ? storeName + "-merged" : requested;
        if (registry.find(tenant, target).isPresent()) {
            throw new Refusal(Refusal.Kind.CONFLICT, "model '" + target + "' is already registered",
                    List.of(new Refusal.FieldError("model_id", "already registered")));
        }
        registry.requireRoomFor(tenant);   // before the merge writes anything
        return target;
    }

    /** Merged checkpoint from the shared base (left untouched) to local disk and the store; registered as {@code target}. */
    private void writeMerged(String tenant, ServedModel served, String storeName, String target) throws IOException {
        try (Leased.Lease<LoadedBase> lease = engine.bases().acquire(served.baseDir(), served.dtype())) { // kept while merging
            LoadedBase base = lease.value();
            Path out = models.mergedRoot().resolve(tenant).resolve(storeName);
            FileSystemUtils.deleteRecursively(out);
            AdapterMerger.merge(base, served.adapterFiles().localDirectory(), out);
            String prefix = ObjectKeys.mergedModel(tenant, storeName);
            store.putDirectory(prefix, out);
            long parameters = base.model().linears().values().stream().mapToLong(l -> l.weightShape().size()).sum();
            // the store's object key, not store.location(): a filesystem store's location is a server path
            // the merged checkpoint holds W0 + ΔW in float32; served in the type the base is held in here (auto
            // resolved: the float32 file must not make it float32) it rounds once, as PEFT's merge_and_unload on a
            // half base does
            registry.registerPrepared(tenant, target, "merged:" + prefix, ModelDtype.of(base.model().halfType()), out,
                    base.model().config().architecture(), parameters);
        }
    }

    /** A file of the merged checkpoint, from the store. */
    InputStream mergedFile(String tenant, String id, String file) throws IOException {
        ServedAdapter adapter = get(tenant, id);
        if (adapter.mergedModel() == null) {
            throw Refusal.notFound("merged checkpoint of adapter", id);
        }
        if (!file.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
            throw Refusal.invalidField("file", "not a file name of the checkpoint");
        }
        String key = ObjectKeys.mergedModel(tenant, adapter.id()) + file;
        if (!store.exists(key)) {
            throw Refusal.notFound("file of the merged checkpoint", file);
        }
        return store.open(key);
    }

    private Path unpack(InputStream zip, Path scratch) {
        try {
            return zips.unpack(zip, scratch);
        } catch (IOException e) {
            String reason = String.valueOf(e.getMessage()).replace(scratch.toAbsolutePath().normalize().toString(), "");
            throw new InvalidRequestException("file", "cannot read the zip archive: " + reason);
        }
    }

    private AdapterValidator.Summary validate(Path dir, Path baseDir, ModelDtype dtype, String baseModel) {
        Leased.Lease<LoadedBase> base = engine.bases().acquire(baseDir, dtype);
        try (base) { // not evicted while checking
            return AdapterValidator.validate(dir, base.value(), baseModel);
        } catch (UncheckedIOException e) {
            log.warn("uploaded adapter for {} unreadable after unpacking", baseModel, e);
            throw Refusal.invalidField("file", "the adapter files cannot be read");
        }
    }
}
