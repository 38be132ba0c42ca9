package dev.peftd.core.adapter.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.tensor.HalfOps;
import dev.peftd.core.tensor.HalfType;
import dev.peftd.core.tensor.SafetensorsCheckpoint;
import dev.peftd.core.tensor.SafetensorsWriter;
import dev.peftd.core.tensor.TensorEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a full Hugging Face checkpoint with the adapter merged in: {@code W ← W0 + ΔW} for every adapted module
 * (ΔW from {@link AbstractAdapter#deltaWeight}, transposed back for GPT-2's {@code [in, out]} Conv1D weights), every
 * other tensor unchanged, and the model's other files (config.json, tokenizer files, generation config…) copied.
 *
 * <p>Tensors are written as one {@code model.safetensors}; floating tensors as float32 (DJL cannot hold bf16), in
 * which case config.json's dtype is set to {@code float32} too.
 *
 * <p>On a half base (the adapter's base linears held in bf16/fp16) the merge is PEFT's {@code merge_and_unload} there:
 * W0 is the base as loaded (the checkpoint rounded to the half type, exact for a half checkpoint), ΔW float32, and
 * the float32 sum W0 + ΔW is what is written, so loading the merged model in the half type rounds once, as PEFT's
 * in-place {@code weight.data += delta} does.
 */
public final class MergedCheckpointWriter {

    private MergedCheckpointWriter() {
    }

    /**
     * @param modelDir the base model the adapter was loaded on (its weights must be the original ones)
     * @param adapter  an unmerged adapter on that model
     * @param outDir   created if needed; must not be {@code modelDir}
     */
    public static void write(Path modelDir, AbstractAdapter adapter, Path outDir, boolean conv1d) throws IOException {
        if (adapter.isMerged()) {
            throw new IllegalStateException("unmerge the adapter first: the merged checkpoint is built from W0");
        }
        if (Files.exists(outDir) && Files.isSameFile(modelDir, outDir)) {
            throw new IOException("--out must differ from the model directory " + modelDir);
        }
        Files.createDirectories(outDir);
        boolean widened = false;
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(modelDir);
             NDManager manager = NDManager.newBaseManager()) {
            Map<String, String> keyOfModule = new LinkedHashMap<>();
            for (String module : adapter.modules()) {
                keyOfModule.put(checkpointKey(checkpoint, module), module);
            }
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String key : checkpoint.keys()) {
                TensorEntry entry = checkpoint.entry(key);
                widened |= entry.dtype().widensToFloat32() && !entry.dtype().name().equals("F32");
                NDArray tensor = checkpoint.load(key, manager);
                String module = keyOfModule.get(key);
                if (module != null) {
                    tensor = merged(key, module, tensor, adapter, conv1d);
                }
                tensors.put(key, tensor);
            }
            SafetensorsWriter.write(outDir.resolve("model.safetensors"), tensors, PeftExporter.METADATA);
        }
        copyOtherFiles(modelDir, outDir, widened);
    }

    private static NDArray merged(String key, String module, NDArray w0, AbstractAdapter adapter, boolean conv1d) {
        HalfType half = adapter.baseLinear(module).halfType();
        if (half != null) {
            NDArray asLoaded = HalfOps.round(w0, half);              // the half base's W0, in float32
            w0.close();
            w0 = asLoaded;
        }
        NDArray delta = adapter.deltaWeight(module);                 // [out, in]
        NDArray oriented = conv1d ? delta.transpose() : delta;       // Conv1D stores [in, out]
        NDArray local = oriented.toDevice(w0.getDevice(), false);
        try {
            AbstractAdapter.requireFinite(module, delta);
            if (!local.getShape().equals(w0.getShape())) {
                throw new IllegalArgumentException("checkpoint tensor '" + key + "' has shape " + w0.getShape()
                        + " but the adapter's ΔW for module " + module + " is " + local.getShape());
            }
            NDArray sum = w0.add(local);
            w0.close();
            return sum;
        } finally {
            delta.close();
            oriented.close();
            local.close();
        }
    }

    /** {@code <module>.weight}; GPT-2 checkpoints saved from GPT2Model lack the {@code transformer.} prefix. */
    static String checkpointKey(SafetensorsCheckpoint checkpoint, String module) throws IOException {
        String key = module + ".weight";
        if (checkpoint.contains(key)) {
            return key;
        }
        String prefix = "transformer.";
        if (module.startsWith(prefix) && checkpoint.contains(key.substring(prefix.length()))) {
            return key.substring(prefix.length());
        }
        throw new IOException("checkpoint " + checkpoint.location() + " has no weight '" + key + "' for adapted "
                + "module " + module + (module.equals("lm_head") ? " (tied embeddings cannot be merged per module)"
                : ""));
    }

    private static void copyOtherFiles(Path modelDir, Path outDir, boolean widened) throws IOException {
        try (Stream<Path> files = Files.list(modelDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (!Files.isRegularFile(f) || name.endsWith(".safetensors") || name.endsWith(".bin")
                        || name.equals(SafetensorsCheckpoint.INDEX_FILE) || name.equals("reference.safetensors")) {
                    continue;
                }
                Files.copy(f, outDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path config = outDir.resolve("config.json");
        if (widened && Files.isRegularFile(config)) {
            JsonObject json = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
            for (String field : new String[] {"torch_dtype", "dtype"}) {
                if (json.has(field)) {
                    json.addProperty(field, "float32");
                }
            }
            Files.writeString(config, PeftConfigJson.GSON.toJson(json) + "\n");
        }
    }
}
