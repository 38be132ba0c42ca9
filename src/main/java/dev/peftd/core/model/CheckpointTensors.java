package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfTensor;
import dev.peftd.core.tensor.OwnedArrays;
import dev.peftd.core.tensor.SafetensorsCheckpoint;
import dev.peftd.core.tensor.TensorEntry;
import dev.peftd.core.tensor.TensorFileException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A checkpoint's tensors as the families ask for them: by key, with the shape config.json implies, loaded as frozen
 * float32 arrays into the model's manager. Errors name the file, the key and both shapes.
 */
public final class CheckpointTensors {

    private final SafetensorsCheckpoint checkpoint;
    private final NDManager manager;
    private final Precision precision;

    CheckpointTensors(SafetensorsCheckpoint checkpoint, NDManager manager, Precision precision) {
        this.checkpoint = checkpoint;
        this.manager = manager;
        this.precision = precision;
    }

    /** How the model being loaded computes: float32, or a half type its floating weights are loaded as. */
    public Precision precision() {
        return precision;
    }

    public boolean has(String key) {
        return checkpoint.contains(key);
    }

    /** The manager the model's weights live in. */
    public NDManager manager() {
        return manager;
    }

    /**
     * @param expectedShape the shape config.json implies
     * @return the tensor as float32, requires-gradient false
     */
    public NDArray get(String key, long... expectedShape) throws IOException {
        checkedEntry(key, expectedShape);
        return checkpoint.load(key, manager);
    }

    /**
     * @param expectedShape the shape config.json implies
     * @return the tensor in {@link #precision()}'s half type, frozen, with no float32 copy made on the way
     */
    public HalfTensor getHalf(String key, long... expectedShape) throws IOException {
        checkedEntry(key, expectedShape);
        return checkpoint.loadHalf(key, manager, precision.half());
    }

    /**
     * Tensors that {@link #getHalf} would load one by one, stacked along their first axis in one half tensor
     * ({@link SafetensorsCheckpoint#loadHalfRows}); each is checked against its expected shape first.
     *
     * @param expectedShapes each key's shape config.json implies, in the order of {@code keys}
     */
    public HalfTensor getHalfRows(List<String> keys, List<long[]> expectedShapes) throws IOException {
        for (int i = 0; i < keys.size(); i++) {
            checkedEntry(keys.get(i), expectedShapes.get(i));
        }
        return checkpoint.loadHalfRows(keys, manager, precision.half());
    }

    private void checkedEntry(String key, long... expectedShape) throws IOException {
        TensorEntry entry = checkpoint.entry(key);
        if (!Arrays.equals(entry.shape(), expectedShape)) {
            throw new TensorFileException(checkpoint.location(), key, "has shape " + Arrays.toString(entry.shape())
                    + " but config.json implies " + Arrays.toString(expectedShape));
        }
        if (!entry.dtype().widensToFloat32()) {
            throw new TensorFileException(checkpoint.location(), key, "is " + entry.dtype() + "; weights must be F32, F16 or BF16");
        }
    }

    /** A dimension config.json sets, with the key that sets it ({@code vocab_size}, {@code n_embd}). */
    public record ConfigDimension(String key, long size) {
    }

    public static ConfigDimension dimension(String configKey, long size) {
        return new ConfigDimension(configKey, size);
    }

    /**
     * Like {@link #get(String, long...)}, but a mismatch is reported against config.json and the key whose value
     * disagrees with the weights: a config that claims another vocabulary or width than its weights is the config's
     * fault more often than the weights'.
     */
    public NDArray get(String key, ConfigDimension... dimensions) throws IOException {
        return get(key, configured(key, dimensions));
    }

    /** Like {@link #get(String, ConfigDimension...)}, for a weight kept in half precision. */
    public HalfTensor getHalf(String key, ConfigDimension... dimensions) throws IOException {
        return getHalf(key, configured(key, dimensions));
    }

    private long[] configured(String key, ConfigDimension... dimensions) throws IOException {
        long[] stored = checkpoint.entry(key).shape();
        long[] expected = new long[dimensions.length];
        for (int i = 0; i < dimensions.length; i++) {
            expected[i] = dimensions[i].size();
            if (stored.length == dimensions.length && stored[i] != dimensions[i].size()) {
                Path config = checkpoint.location().resolveSibling(ConfigJson.FILE_NAME);
                throw new ModelLoadException(config, dimensions[i].key(), dimensions[i].size() + " does not match the "
                        + "weights: tensor '" + key + "' in " + checkpoint.location().getFileName() + " has "
                        + stored[i] + " along dimension " + i + " (shape " + Arrays.toString(stored) + ")");
            }
        }
        return expected;
    }

    /**
     * Loads a {@code [rows, cols]} tensor and returns it transposed and contiguous, {@code [cols, rows]}: GPT-2's
     * Conv1D stores {@code [in, out]}, and peftd keeps every linear weight in PEFT's {@code [out, in]} orientation.
     * Transposed in Java because DJL offers no way to make a transposed view contiguous.
     */
    public NDArray getTransposed(String key, long rows, long cols) throws IOException {
        float[] stored;
        try (NDArray raw = get(key, rows, cols)) {
            stored = raw.toFloatArray();
        }
        float[] transposed = new float[stored.length];
        int r = Math.toIntExact(rows);
        int c = Math.toIntExact(cols);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                transposed[j * r + i] = stored[i * c + j];
            }
        }
        NDArray result = OwnedArrays.of(manager, transposed, new Shape(cols, rows), manager.getDevice());
        NDScope.unregister(result);
        return result;
    }

    /**
     * {@link #getTransposed} for a weight kept in {@link #precision()}'s half type: transposed in float32 (exact for
     * half values) one tensor at a time, then rounded once, so only this one tensor ever exists in float32.
     */
    public HalfTensor getHalfTransposed(String key, long rows, long cols) throws IOException {
        // the half tensor joins its input's manager (the model's), so the float32 input is closed by hand
        try (NDArray float32 = getTransposed(key, rows, cols)) {
            return HalfOps.cast(float32, precision.half());
        }
    }
}
