package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import dev.peftd.api.Ids;
import dev.peftd.api.IdempotencyKeys;
import dev.peftd.api.ListPage;
import dev.peftd.security.Tenant;
import dev.peftd.storage.ArtifactStore;
import dev.peftd.storage.ObjectKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.domain.Limit;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import tools.jackson.databind.json.JsonMapper;

/**
 * Uploaded datasets, and each ended job's results CSV ({@link #storeResults}). An upload is validated completely before anything is written; the object is stored first and the
 * row inserted after it, and a rolled-back insert deletes the object again, so a failure leaves nothing behind.
 */
@Service
public class Files {

    static final String PURPOSE = "fine-tune";
    /** OpenAI's purpose for a job's results file. */
    public static final String RESULTS_PURPOSE = "fine-tune-results";
    /** OpenAI's name for it. */
    static final String RESULTS_FILENAME = "step_metrics.csv";
    private static final Logger log = LoggerFactory.getLogger(Files.class);

    private final FileRepository repository;
    private final ArtifactStore store;
    private final IdempotencyKeys idempotency;
    private final JsonlValidator validator;
    private final Clock clock;
    private final FileUsage usage;

    Files(FileRepository repository, ArtifactStore store, IdempotencyKeys idempotency, JsonMapper json, Clock clock,
            FileUsage usage) {
        this.repository = repository;
        this.store = store;
        this.idempotency = idempotency;
        this.validator = new JsonlValidator(json);
        this.clock = clock;
        this.usage = usage;
    }

    /** An upload already spooled to a local file by the web layer. */
    record Upload(String filename, String purpose, Path content, long bytes) {
    }

    StoredFile upload(Tenant tenant, Upload upload, String idempotencyKey) throws IOException {
        if (!PURPOSE.equals(upload.purpose())) {
            throw Refusal.invalidField("purpose", "must be '" + PURPOSE + "', got '" + upload.purpose() + "'");
        }
        String filename = upload.filename() == null || upload.filename().isBlank() ? "upload.jsonl" : upload.filename();
        if (filename.length() > 255) {
            throw Refusal.invalidField("file", "file name longer than 255 characters");
        }
        String sha256;
        int records;
        try (InputStream raw = java.nio.file.Files.newInputStream(upload.content());
             DigestInputStream in = new DigestInputStream(raw, sha256())) {
            records = validator.validate(in);
            sha256 = HexFormat.of().formatHex(in.getMessageDigest().digest());
        }
        String requestHash = IdempotencyKeys.hash(filename, upload.purpose(), sha256);
        return idempotency.create(tenant.name(), "file.create", idempotencyKey, requestHash,
                () -> store(tenant, filename, upload, records),
                id -> repository.findById(id).orElseThrow());
    }

    private String store(Tenant tenant, String filename, Upload upload, int records) {
        String id = Ids.next("file");
        String key = ObjectKeys.file(tenant.name(), id);
        try {
            store.put(key, upload.content());
        } catch (IOException e) {
            // the store's message names its location (a server folder or bucket); the client gets the kind only
            log.warn("could not store {} for tenant {}", key, tenant.name(), e);
            throw new Refusal(Refusal.Kind.STORAGE_UNAVAILABLE, "could not store the file ("
                    + e.getClass().getSimpleName() + "); the object store is unavailable");
        }
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCompletion(int status) {
                if (status != STATUS_COMMITTED) {
                    deleteQuietly(key);
                }
            }
        });
        repository.save(new StoredFile(id, tenant.name(), filename, upload.purpose(), upload.bytes(), records, key,
                clock.instant()));
        return id;
    }

    /** The two parts of a file split by {@link #holdOut}. */
    public record Split(String kept, String heldOut) {
    }

    /**
     * Splits a tenant's file into two new files, deterministically: the last {@code fraction} of its records (at
     * least one) are held out, the ones before them kept, each in its original order. Called inside the caller's
     * transaction; a rollback deletes the stored objects again.
     *
     * @param field the request field that asked for the split, named in a refusal
     */
    public Split holdOut(Tenant tenant, String fileId, double fraction, String field) {
        StoredFile source = get(tenant, fileId);
        List<String> records;
        try (InputStream in = open(source)) {
            records = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .filter(line -> !line.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int heldOut = Math.max(1, (int) Math.round(records.size() * fraction));
        if (heldOut >= records.size()) {
            throw Refusal.invalidField(field, "holds out " + heldOut + " of the " + records.size()
                    + " records of '" + fileId + "', leaving none to train on");
        }
        String stem = source.filename().replaceFirst("\\.jsonl$", "");
        return new Split(storePart(tenant, stem + ".kept.jsonl", records.subList(0, records.size() - heldOut)),
                storePart(tenant, stem + ".held-out.jsonl", records.subList(records.size() - heldOut, records.size())));
    }

    private String storePart(Tenant tenant, String filename, List<String> records) {
        try {
            Path part = java.nio.file.Files.createTempFile("peftd-split", ".jsonl");
            try {
                java.nio.file.Files.write(part, records, java.nio.charset.StandardCharsets.UTF_8);
                return store(tenant, filename, new Upload(filename, PURPOSE, part, java.nio.file.Files.size(part)),
                        records.size());
            } finally {
                java.nio.file.Files.deleteIfExists(part);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Stores a job's results CSV as a file of the job's tenant, replacing an earlier one of the same job (a run that
     * ended twice, e.g. failed after its lease moved). The object is written first and the row after, as uploads.
     *
     * @param rows data rows (the file's line count)
     */
    public StoredFile storeResults(String tenant, String jobId, Path csv, int rows) throws IOException {
        String id = Ids.next("file");
        String key = ObjectKeys.resultFile(tenant, id);
        store.put(key, csv);
        List<StoredFile> earlier = repository.findByTenantAndJobIdOrderByCreatedAt(tenant, jobId);
        StoredFile saved;
        try {
            saved = repository.save(new StoredFile(id, tenant, RESULTS_FILENAME, RESULTS_PURPOSE,
                    java.nio.file.Files.size(csv), rows, key, clock.instant()).ofJob(jobId));
        } catch (RuntimeException e) {
            deleteQuietly(key);
            throw e;
        }
        for (StoredFile old : earlier) {
            repository.delete(old);
            deleteQuietly(old.storageKey());
        }
        return saved;
    }

    /**
     * The ids of the results files of each of {@code jobIds} that has any, oldest first: one query for a whole page of
     * jobs.
     */
    public java.util.Map<String, List<String>> resultFilesOf(String tenant, java.util.Collection<String> jobIds) {
        if (jobIds.isEmpty()) {
            return java.util.Map.of();
        }
        return repository.findByTenantAndJobIdInOrderByCreatedAt(tenant, jobIds).stream()
                .collect(java.util.stream.Collectors.groupingBy(StoredFile::jobId, java.util.LinkedHashMap::new,
                        java.util.stream.Collectors.mapping(StoredFile::id, java.util.stream.Collectors.toList())));
    }

    /** A file's bytes, for the tenant that owns it (404 otherwise); the caller closes the stream. */
    record Content(StoredFile file, InputStream bytes) {
    }

    Content content(Tenant tenant, String id) {
        StoredFile file = get(tenant, id);
        try {
            return new Content(file, store.open(file.storageKey()));
        } catch (IOException e) {
            log.warn("could not open {} for tenant {}", file.storageKey(), tenant.name(), e);
            throw new Refusal(Refusal.Kind.STORAGE_UNAVAILABLE, "could not read the file ("
                    + e.getClass().getSimpleName() + "); the object store is unavailable");
        }
    }

    public Optional<StoredFile> find(Tenant tenant, String id) {
        return repository.findByIdAndTenant(id, tenant.name());
    }

    public StoredFile get(Tenant tenant, String id) {
        return find(tenant, id).orElseThrow(() -> Refusal.notFound("file", id));
    }

    ListPage<StoredFile> list(Tenant tenant, String after, int limit) {
        List<StoredFile> rows;
        if (after == null) {
            rows = repository.findByTenantOrderByCreatedAtDescIdDesc(tenant.name(), Limit.of(limit + 1));
        } else {
            StoredFile cursor = find(tenant, after)
                    .orElseThrow(() -> Refusal.invalidField("after", "no file with id '" + after + "'"));
            rows = repository.pageAfter(tenant.name(), cursor.createdAt(), cursor.id(), Limit.of(limit + 1));
        }
        return ListPage.fromOverfetch(rows, limit, f -> f);
    }

    void delete(Tenant tenant, String id) {
        StoredFile file = get(tenant, id);
        if (usage.fileInUse(id)) {
            throw new Refusal(Refusal.Kind.CONFLICT, "file '" + id + "' is used by a job that has not finished");
        }
        repository.delete(file);
        deleteQuietly(file.storageKey());
    }

    /** Opens a file's content for the worker. */
    public InputStream open(StoredFile file) {
        try {
            return store.open(file.storageKey());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void deleteQuietly(String key) {
        try {
            store.delete(key);
        } catch (IOException e) {
            log.warn("could not delete object {}: {}", key, e.getMessage());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
