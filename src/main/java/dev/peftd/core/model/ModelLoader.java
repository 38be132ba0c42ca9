package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.model.gpt2.Gpt2Family;
import dev.peftd.core.model.llama.LlamaFamily;
import dev.peftd.core.model.qwen2.Qwen2Family;
import dev.peftd.core.tensor.SafetensorsCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loads a Hugging Face model directory ({@code config.json} + safetensors weights) into a {@link CausalLm}. The
 * tokenizer files are not read here. The returned model owns its own NDManager and frees it on {@code close()}.
 */
public final class ModelLoader {

    private static final Map<String, ModelFamily> FAMILIES = Map.of(
            "LlamaForCausalLM", new LlamaFamily(),
            "MistralForCausalLM", new LlamaFamily(),
            "Qwen2ForCausalLM", new Qwen2Family(),
            "GPT2LMHeadModel", new Gpt2Family());

    private ModelLoader() {
    }

    /** The HF architecture names peftd can load. */
    public static Set<String> supportedArchitectures() {
        return new TreeSet<>(FAMILIES.keySet());
    }

    /** Reads and maps config.json without loading any weights. */
    public static ModelConfig readConfig(Path dir) throws ModelLoadException {
        requireDirectory(dir);
        ConfigJson json = ConfigJson.read(dir);
        String architecture = json.architecture();
        return familyOf(json, architecture).readConfig(architecture, json);
    }

    /** Loads onto the engine's default device (a GPU when there is one). */
    public static CausalLm load(Path dir) throws IOException {
        return load(dir, Engine.getInstance().defaultDevice());
    }

    public static CausalLm load(Path dir, Device device) throws IOException {
        ModelConfig config = readConfig(dir);
        NDManager manager = NDManager.newBaseManager(device);
        manager.setName("model " + dir.getFileName());
        return loadInto(dir, config, manager);
    }

    /** Loads into a new sub-manager of {@code parent} (and its device). */
    public static CausalLm load(Path dir, NDManager parent) throws IOException {
        ModelConfig config = readConfig(dir);
        return loadInto(dir, config, parent.newSubManager());
    }

    private static CausalLm loadInto(Path dir, ModelConfig config, NDManager manager) throws IOException {
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            return FAMILIES.get(config.architecture()).load(config, new CheckpointTensors(checkpoint, manager));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static ModelFamily familyOf(ConfigJson json, String architecture) throws ModelLoadException {
        ModelFamily family = FAMILIES.get(architecture);
        if (family == null) {
            throw json.error("architectures", "'" + architecture + "' is not supported (supported: "
                    + String.join(", ", supportedArchitectures()) + ")");
        }
        return family;
    }

    private static void requireDirectory(Path dir) throws ModelLoadException {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException(dir, Files.exists(dir) ? "not a directory" : "model directory does not exist");
        }
    }
}
