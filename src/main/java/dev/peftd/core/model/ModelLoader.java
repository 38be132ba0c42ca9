package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.model.gpt2.Gpt2Family;
import dev.peftd.core.model.llama.LlamaFamily;
import dev.peftd.core.model.qwen2.Qwen2Family;
import dev.peftd.core.tensor.SafetensorsCheckpoint;
import dev.peftd.core.tensor.SafetensorsDtype;
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

    /**
     * The module names the checkpoint's weights belong to ({@code model.layers.0.self_attn.q_proj} for
     * {@code ….q_proj.weight}), read from the safetensors headers without loading a tensor: a superset of the linear
     * layers an adapter can target, for checking a user's {@code target_modules} against the real model at submission.
     */
    public static Set<String> moduleNames(Path dir) throws IOException {
        requireDirectory(dir);
        Set<String> modules = new TreeSet<>();
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            for (String key : checkpoint.keys()) {
                if (key.endsWith(".weight")) {
                    modules.add(key.substring(0, key.length() - ".weight".length()));
                }
            }
        }
        return modules;
    }

    /** Loads in float32 onto the engine's default device (a GPU when there is one). */
    public static CausalLm load(Path dir) throws IOException {
        return load(dir, ModelDtype.FLOAT32);
    }

    /** Loads in {@code dtype} onto the engine's default device (a GPU when there is one). */
    public static CausalLm load(Path dir, ModelDtype dtype) throws IOException {
        return load(dir, Engine.getInstance().defaultDevice(), dtype);
    }

    public static CausalLm load(Path dir, Device device) throws IOException {
        return load(dir, device, ModelDtype.FLOAT32);
    }

    /**
     * @param dtype the weights' type; a half type keeps every floating checkpoint tensor in it (no float32 copy) and
     *              computes as transformers does with {@code dtype=torch.bfloat16} / {@code float16} (see
     *              {@link Precision}); logits are float32 either way
     */
    public static CausalLm load(Path dir, Device device, ModelDtype dtype) throws IOException {
        ModelConfig config = readConfig(dir);
        NDManager manager = NDManager.newBaseManager(device);
        manager.setName("model " + dir.getFileName());
        return loadInto(dir, config, manager, dtype);
    }

    /** Loads in float32 into a new sub-manager of {@code parent} (and its device). */
    public static CausalLm load(Path dir, NDManager parent) throws IOException {
        ModelConfig config = readConfig(dir);
        return loadInto(dir, config, parent.newSubManager(), ModelDtype.FLOAT32);
    }

    private static CausalLm loadInto(Path dir, ModelConfig config, NDManager manager, ModelDtype dtype) throws IOException {
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            ModelFamily family = FAMILIES.get(config.architecture());
            Precision precision = Precision.of(resolve(dtype, checkpoint, manager.getDevice()).half());
            return family.load(config, new CheckpointTensors(checkpoint, manager, precision));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The type a load of {@code dir} on {@code device} in {@code dtype} keeps the weights in: {@code dtype} itself,
     * except {@link ModelDtype#AUTO}, which becomes the checkpoint's type where the device computes that type natively
     * and float32 where it does not ({@link ModelDtype#auto}). Reads the safetensors headers only.
     */
    public static ModelDtype resolve(Path dir, Device device, ModelDtype dtype) throws IOException {
        if (dtype != ModelDtype.AUTO) {
            return dtype;
        }
        requireDirectory(dir);
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            return resolve(dtype, checkpoint, device);
        }
    }

    private static ModelDtype resolve(ModelDtype dtype, SafetensorsCheckpoint checkpoint, Device device)
            throws IOException {
        return dtype == ModelDtype.AUTO ? ModelDtype.auto(storedType(checkpoint), device) : dtype;
    }

    /** The type of the checkpoint's first floating tensor (float32 when it has none). */
    private static ModelDtype storedType(SafetensorsCheckpoint checkpoint) throws IOException {
        for (String key : checkpoint.keys()) {
            SafetensorsDtype stored = checkpoint.entry(key).dtype();
            if (stored == SafetensorsDtype.BF16) {
                return ModelDtype.BFLOAT16;
            } else if (stored == SafetensorsDtype.F16) {
                return ModelDtype.FLOAT16;
            } else if (stored == SafetensorsDtype.F32) {
                return ModelDtype.FLOAT32;
            }
        }
        return ModelDtype.FLOAT32;
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
