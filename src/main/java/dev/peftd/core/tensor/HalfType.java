package dev.peftd.core.tensor;

/**
 * The 16-bit float types a frozen base weight may be kept in. Deliberately not a DJL {@code DataType}: DJL 0.36
 * aborts the JVM on {@code BFLOAT16} (djl-notes.md pitfall 2), so half types never cross into DJL's Java API.
 */
public enum HalfType {
    BFLOAT16(SafetensorsDtype.BF16),
    FLOAT16(SafetensorsDtype.F16);

    private final SafetensorsDtype fileType;

    HalfType(SafetensorsDtype fileType) {
        this.fileType = fileType;
    }

    /** The safetensors dtype whose raw bytes are this type's bit patterns. */
    public SafetensorsDtype fileType() {
        return fileType;
    }

    /** The code half-ops.pt's methods take (tools/reference/make_half_ops.py). */
    long code() {
        return ordinal();
    }
}
