package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Checks a forward call's token ids before they reach native code, where a bad id would fail with an opaque error. */
public final class ModelInputs {

    private ModelInputs() {
    }

    /**
     * @param ids integer {@code [B, T]} with B, T ≥ 1 and every id inside the vocabulary
     * @return the ids as int64 on {@code device}
     */
    public static NDArray checkedIds(NDArray ids, int vocabSize, Device device) {
        Shape shape = ids.getShape();
        if (shape.dimension() != 2 || shape.get(0) < 1 || shape.get(1) < 1) {
            throw new IllegalArgumentException("input ids must have shape [batch, length] with both at least 1, got " + shape);
        }
        if (!ids.getDataType().isInteger()) {
            throw new IllegalArgumentException("input ids must be integers, got " + ids.getDataType());
        }
        NDArray longIds = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        long min = longIds.min().getLong();
        long max = longIds.max().getLong();
        if (min < 0 || max >= vocabSize) {
            throw new IllegalArgumentException("token id " + (min < 0 ? min : max) + " is outside the vocabulary of "
                    + vocabSize + " tokens");
        }
        return longIds.toDevice(device, false);
    }
}
