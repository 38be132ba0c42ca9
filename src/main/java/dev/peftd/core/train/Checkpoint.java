package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.peftd.core.tensor.SafetensorsFile;
import dev.peftd.core.tensor.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A resumable training state in a directory {@code step-NNNNNN}: {@code checkpoint.json} (step, data position, RNG
 * scheme, the settings that must not change on resume), {@code adapter_state.safetensors} (every tensor of
 * {@code Adapter.stateTensors()}, F32) and {@code optimizer.safetensors} (AdamW moments).
 *
 * <p>RNG: the only randomness inside a step is the adapter's dropout, drawn from libtorch's generator, which the run
 * reseeds with {@code seed + step} at the start of every step; the data order is a pure function of the seed and
 * the micro-batch index. So (seed, step) is the whole RNG state and is what the checkpoint stores.
 */
final class Checkpoint {

    static final String FORMAT = "peftd-checkpoint/1";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** The JSON part; the fields under "must match" are compared on resume. */
    static final class Meta {
        String format = FORMAT;
        int step;
        long nextMicroBatch;
        int epoch;
        String rng;
        List<Double> losses;
        // must match on resume
        long seed;
        int batchSize;
        int gradAccum;
        int totalSteps;
        int trainExamples;
        // early stopping and keep_best: the best evaluation so far (null before any), restored on resume
        Evaluation best;
        int bestStep;
        int evalsSinceBest;
    }

    private static final String BEST_ADAPTER = "best_adapter_state.safetensors";

    private Checkpoint() {
    }

    /** The best evaluation's adapter state a checkpoint kept, or {@code null}. */
    static Map<String, NDArray> readBestAdapter(Path dir, NDManager manager) {
        Path file = dir.resolve(BEST_ADAPTER);
        return Files.isRegularFile(file) ? readTensors(file, manager) : null;
    }

    /** @param bestAdapterState the best evaluation's adapter state under keep_best, else empty */
    static Path write(Path root, Meta meta, Map<String, NDArray> adapterState, Map<String, NDArray> optimizerState,
                      Map<String, NDArray> bestAdapterState) {
        Path dir = root.resolve(String.format("step-%06d", meta.step));
        Path tmp = root.resolve(".tmp-" + dir.getFileName());
        try {
            Files.createDirectories(tmp);
            writeTensors(tmp.resolve("adapter_state.safetensors"), adapterState);
            writeTensors(tmp.resolve("optimizer.safetensors"), optimizerState);
            if (!bestAdapterState.isEmpty()) {
                writeTensors(tmp.resolve(BEST_ADAPTER), bestAdapterState);
            }
            Files.writeString(tmp.resolve("checkpoint.json"), GSON.toJson(meta), StandardCharsets.UTF_8);
            if (Files.exists(dir)) {
                deleteTree(dir);
            }
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE); // a crash mid-write never leaves a half checkpoint
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint " + dir + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /** {@code dir} itself when it holds checkpoint.json, else its newest {@code step-*} child. */
    static Path locate(Path dir) {
        if (Files.isRegularFile(dir.resolve("checkpoint.json"))) {
            return dir;
        }
        try (Stream<Path> children = Files.list(dir)) {
            return children.filter(p -> p.getFileName().toString().startsWith("step-")
                            && Files.isRegularFile(p.resolve("checkpoint.json")))
                    .max(Comparator.comparing(p -> p.getFileName().toString()))
                    .orElseThrow(() -> new IllegalArgumentException("resume: " + dir + " holds no checkpoint"
                            + " (no checkpoint.json, no step-* directory)"));
        } catch (IOException e) {
            throw new IllegalArgumentException("resume: cannot read " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static Meta readMeta(Path dir) {
        try {
            Meta meta = GSON.fromJson(Files.readString(dir.resolve("checkpoint.json")), Meta.class);
            if (meta == null || !FORMAT.equals(meta.format)) {
                throw new IllegalArgumentException("resume: " + dir.resolve("checkpoint.json") + " is not a "
                        + FORMAT + " file");
            }
            return meta;
        } catch (IOException | JsonParseException e) {
            throw new IllegalArgumentException("resume: cannot read " + dir.resolve("checkpoint.json")
                    + " (" + e.getMessage() + ")", e);
        }
    }

    /** Tensors of a checkpoint (or PEFT adapter) safetensors file, by name, owned by {@code manager}. */
    static Map<String, NDArray> readTensors(Path file, NDManager manager) {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Map<String, NDArray> out = new LinkedHashMap<>();
            for (String name : st.names()) {
                out.put(name, st.load(name, manager));
            }
            return out;
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("resume: cannot read " + file + " (" + e.getMessage() + ")", e);
        }
    }

    private static void writeTensors(Path file, Map<String, NDArray> tensors) throws IOException {
        SafetensorsWriter.write(file, tensors, Map.of("format", FORMAT));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
