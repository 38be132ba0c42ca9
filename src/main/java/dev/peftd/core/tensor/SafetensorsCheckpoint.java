package dev.peftd.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a Hugging Face model directory: either one {@code model.safetensors} or the shards listed in
 * {@code model.safetensors.index.json}. Looks tensors up by key across shards. Thread-safe once opened.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path location;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> fileByKey;

    private SafetensorsCheckpoint(Path location, List<SafetensorsFile> files, Map<String, SafetensorsFile> fileByKey) {
        this.location = location;
        this.files = files;
        this.fileByKey = fileByKey;
    }

    /** Opens the checkpoint in {@code dir}, preferring the sharded index when both layouts are present. */
    public static SafetensorsCheckpoint open(Path dir) throws IOException {
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(index);
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> byKey = new LinkedHashMap<>();
            file.names().forEach(name -> byKey.put(name, file));
            return new SafetensorsCheckpoint(single, List.of(file), Collections.unmodifiableMap(byKey));
        }
        throw new TensorFileException(dir, "no " + SINGLE_FILE + " or " + INDEX_FILE + " in this directory");
    }

    private static SafetensorsCheckpoint openSharded(Path index) throws IOException {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byKey = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile shard = shards.get(e.getValue());
                if (shard == null) {
                    if (!isPlainFileName(e.getValue())) {
                        // shards sit next to the index; a path would let a checkpoint read files outside its folder
                        throw new TensorFileException(index, e.getKey(), "shard '" + e.getValue()
                                + "' is not a plain file name next to the index");
                    }
                    Path shardPath = index.resolveSibling(e.getValue());
                    if (!Files.isRegularFile(shardPath)) {
                        throw new TensorFileException(index, e.getKey(), "listed in shard " + e.getValue() + ", which does not exist");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(e.getValue(), shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new TensorFileException(shard.path(), e.getKey(), "missing, although " + INDEX_FILE + " lists it here");
                }
                byKey.put(e.getKey(), shard);
            }
        } catch (IOException e) {
            closeAll(shards.values());
            throw e;
        }
        return new SafetensorsCheckpoint(index, List.copyOf(shards.values()), Collections.unmodifiableMap(byKey));
    }

    private static boolean isPlainFileName(String name) {
        return !name.isEmpty() && !name.contains("/") && !name.contains("\\") && !name.equals(".") && !name.equals("..");
    }

    private static Map<String, String> readWeightMap(Path index) throws IOException {
        JsonElement weightMap;
        try {
            weightMap = JsonParser.parseString(Files.readString(index)).getAsJsonObject().get("weight_map");
        } catch (JsonParseException | IllegalStateException e) {
            throw new TensorFileException(index, "not a valid JSON object (" + e.getMessage() + ")", e);
        }
        if (weightMap == null || !weightMap.isJsonObject()) {
            throw new TensorFileException(index, "has no \"weight_map\" object");
        }
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : ((JsonObject) weightMap).entrySet()) {
            if (!e.getValue().isJsonPrimitive()) {
                throw new TensorFileException(index, e.getKey(), "weight_map value is not a file name");
            }
            result.put(e.getKey(), e.getValue().getAsString());
        }
        return result;
    }

    /** The file named in error messages: the index for sharded checkpoints, the single file otherwise. */
    public Path location() {
        return location;
    }

    public Set<String> keys() {
        return fileByKey.keySet();
    }

    public boolean contains(String key) {
        return fileByKey.containsKey(key);
    }

    public TensorEntry entry(String key) throws TensorFileException {
        return fileOf(key).entry(key);
    }

    /** Loads one tensor into {@code manager} (see {@link SafetensorsFile#load}). */
    public NDArray load(String key, NDManager manager) throws IOException {
        return fileOf(key).load(key, manager);
    }

    /** Loads one floating tensor as a frozen half tensor (see {@link SafetensorsFile#loadHalf}). */
    public HalfTensor loadHalf(String key, NDManager manager, HalfType type) throws IOException {
        return fileOf(key).loadHalf(key, manager, type);
    }

    /**
     * Loads floating tensors of equal trailing dimensions as one frozen half tensor, stacked along the first axis in
     * the order given ({@code [Σ rows, …]}): the weights of linears that share an input, for one product over all of
     * them. Each is read as {@link #loadHalf} reads one, with no float32 copy. Meant to be used through views of its
     * rows ({@link HalfOps#rows}), which count its bytes ({@link HalfOps#storageBytes}).
     */
    public HalfTensor loadHalfRows(List<String> keys, NDManager manager, HalfType type) throws IOException {
        long[] shape = entry(keys.get(0)).shape().clone();
        for (String key : keys.subList(1, keys.size())) {
            long[] next = entry(key).shape();
            if (!Arrays.equals(Arrays.copyOfRange(next, 1, next.length), Arrays.copyOfRange(shape, 1, shape.length))) {
                throw new TensorFileException(location, key, "has shape " + Arrays.toString(next) + ", which cannot"
                        + " be stacked under " + keys.get(0) + "'s " + Arrays.toString(entry(keys.get(0)).shape()));
            }
            shape[0] += next[0];
        }
        HalfOps.Builder builder = new HalfOps.Builder(manager, new Shape(shape), type);
        for (String key : keys) {
            fileOf(key).appendHalf(key, manager, builder);
        }
        return HalfOps.stackOfRows(builder.build());
    }

    private SafetensorsFile fileOf(String key) throws TensorFileException {
        SafetensorsFile file = fileByKey.get(key);
        if (file == null) {
            throw new TensorFileException(location, key, "missing from the checkpoint");
        }
        return file;
    }

    @Override
    public void close() throws IOException {
        closeAll(files);
    }

    private static void closeAll(Iterable<SafetensorsFile> files) throws IOException {
        IOException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
