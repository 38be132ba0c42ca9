package dev.peftd.catalog;

import dev.peftd.core.model.ModelDtype;
import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.EmbeddedId;
import jakarta.persistence.Entity;
import jakarta.persistence.Table;
import java.io.Serializable;
import java.time.Instant;

/** A registered base model: where it comes from, and whether it loaded ({@code loading → ready | failed}). */
@Entity
@Table(name = "base_models")
public class BaseModel {

    public enum Status { loading, ready, failed }

    /** Model ids are unique per tenant. */
    @Embeddable
    public record Key(String tenant, String id) implements Serializable {
    }

    @EmbeddedId
    private Key key;
    private String source;
    /** The external name of a {@link ModelDtype}: the type serving loads the weights in. */
    private String dtype;
    @jakarta.persistence.Enumerated(jakarta.persistence.EnumType.STRING)
    private Status status;
    @Column(name = "failure_reason")
    private String failureReason;
    @Column(name = "failure_code")
    private String failureCode;
    @Column(name = "failure_file")
    private String failureFile;
    @Column(name = "failure_field")
    private String failureField;
    private String architecture;
    private Long parameters;
    @Column(name = "local_path")
    private String localPath;
    @Column(name = "created_at")
    private Instant createdAt;

    protected BaseModel() {
    }

    BaseModel(String tenant, String id, String source, ModelDtype dtype, Instant createdAt) {
        this.key = new Key(tenant, id);
        this.source = source;
        this.dtype = dtype.externalName();
        this.status = Status.loading;
        this.createdAt = createdAt;
    }

    void ready(String localPath, String architecture, Long parameters) {
        this.status = Status.ready;
        this.localPath = localPath;
        this.architecture = architecture;
        this.parameters = parameters;
        this.failureReason = null;
        this.failureCode = null;
        this.failureFile = null;
        this.failureField = null;
    }

    void failed(ModelFailure failure) {
        this.status = Status.failed;
        this.failureReason = failure.message();
        this.failureCode = failure.code();
        this.failureFile = failure.file();
        this.failureField = failure.field();
    }

    public String tenant() {
        return key.tenant();
    }

    public String id() {
        return key.id();
    }

    public String source() {
        return source;
    }

    /** The type the weights are loaded in for serving (and checked in at registration). */
    public ModelDtype dtype() {
        return ModelDtype.parse(dtype);
    }

    public Status status() {
        return status;
    }

    public String failureReason() {
        return failureReason;
    }

    /** The failure in parts, {@code null} unless {@link Status#failed}. */
    ModelFailure failure() {
        return status == Status.failed ? new ModelFailure(failureCode, failureReason, failureFile, failureField) : null;
    }

    public String architecture() {
        return architecture;
    }

    public Long parameters() {
        return parameters;
    }

    /** The local folder holding config.json, weights and tokenizer, once {@link Status#ready}. */
    public String localPath() {
        return localPath;
    }

    public Instant createdAt() {
        return createdAt;
    }
}
