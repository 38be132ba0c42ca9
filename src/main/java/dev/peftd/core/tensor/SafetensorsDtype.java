package dev.peftd.core.tensor;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The safetensors element types peftd reads and writes.
 *
 * <p>Declared in the order of the Rust {@code safetensors} crate's {@code Dtype} enum, because Python's writer lays
 * tensors out by that order (largest first, then by name) and {@link SafetensorsWriter} does the same so that its
 * files are byte-identical to Python's.
 */
public enum SafetensorsDtype {
    BOOL(1, DataType.BOOLEAN),
    U8(1, DataType.UINT8),
    I8(1, DataType.INT8),
    I16(2, DataType.INT16),
    F16(2, DataType.FLOAT16),
    /** No DJL counterpart on purpose: creating a BF16 NDArray aborts the JVM (djl-notes.md pitfall 2). */
    BF16(2, null),
    I32(4, DataType.INT32),
    F32(4, DataType.FLOAT32),
    F64(8, DataType.FLOAT64),
    I64(8, DataType.INT64);

    private final int bytes;
    private final DataType djlType;

    SafetensorsDtype(int bytes, DataType djlType) {
        this.bytes = bytes;
        this.djlType = djlType;
    }

    public int bytes() {
        return bytes;
    }

    /** True for the floating types that load as float32 (F16, BF16, F32). */
    public boolean widensToFloat32() {
        return this == F16 || this == BF16 || this == F32;
    }

    /** The DJL type arrays of this dtype load as: float32 for the 16-bit floats, the same type otherwise. */
    public DataType loadedType() {
        return widensToFloat32() ? DataType.FLOAT32 : djlType;
    }

    /** @return the dtype for a header's {@code "dtype"} string, or {@code null} when peftd does not support it */
    public static SafetensorsDtype fromHeaderName(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The dtype an NDArray of this DJL type is written as. */
    public static SafetensorsDtype of(DataType type) {
        for (SafetensorsDtype d : values()) {
            if (d.djlType == type) {
                return d;
            }
        }
        throw new IllegalArgumentException("safetensors cannot store NDArrays of type " + type);
    }
}
