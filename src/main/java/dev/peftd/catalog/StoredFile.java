package dev.peftd.catalog;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** An uploaded dataset: metadata here, the bytes in the artifact store under {@link #storageKey}. */
@Entity
@Table(name = "files")
public class StoredFile {

    @Id
    private String id;
    private String tenant;
    private String filename;
    private String purpose;
    private long bytes;
    @Column(name = "line_count")
    private int lineCount;
    @Column(name = "storage_key")
    private String storageKey;
    @Column(name = "created_at")
    private Instant createdAt;
    /** The job a results file reports on; null for uploads. */
    @Column(name = "job_id")
    private String jobId;

    protected StoredFile() {
    }

    StoredFile(String id, String tenant, String filename, String purpose, long bytes, int lineCount, String storageKey,
            Instant createdAt) {
        this.id = id;
        this.tenant = tenant;
        this.filename = filename;
        this.purpose = purpose;
        this.bytes = bytes;
        this.lineCount = lineCount;
        this.storageKey = storageKey;
        this.createdAt = createdAt;
    }

    public String id() {
        return id;
    }

    public String tenant() {
        return tenant;
    }

    public String filename() {
        return filename;
    }

    public String purpose() {
        return purpose;
    }

    public long bytes() {
        return bytes;
    }

    public int lineCount() {
        return lineCount;
    }

    public String storageKey() {
        return storageKey;
    }

    public Instant createdAt() {
        return createdAt;
    }

    public String jobId() {
        return jobId;
    }

    StoredFile ofJob(String job) {
        this.jobId = job;
        return this;
    }
}
