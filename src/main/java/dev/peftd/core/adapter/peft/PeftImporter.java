package dev.peftd.core.adapter.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.adapter.lora.LoraAdapter;
import dev.peftd.core.adapter.vera.VeraAdapter;
import dev.peftd.core.model.Linear;
import dev.peftd.core.tensor.SafetensorsDtype;
import dev.peftd.core.tensor.SafetensorsFile;
import dev.peftd.core.tensor.TensorFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Loads a PEFT LoRA or VeRA directory (written by PEFT or by {@link PeftExporter}) onto a model's linear layers.
 * VeRA directories without saved projections get them regenerated bit-identically from {@code projection_prng_key}.
 * Every tensor in the file must belong to a targeted module: a key the adapter would ignore is an error, not a
 * silently different model.
 */
public final class PeftImporter {

    private PeftImporter() {
    }

    /**
     * @param linears the model's linear layers ({@code CausalLm.linears()})
     */
    public static AbstractAdapter load(Path adapterDir, Map<String, Linear> linears) throws IOException {
        AdapterConfig config = PeftConfigJson.read(adapterDir);
        Map<String, Linear> targets = Adapters.targets(config.targetModules(), linears);
        Path weights = adapterDir.resolve(PeftExporter.WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new NoSuchFileException(weights.toString(), null, Files.exists(adapterDir.resolve("adapter_model.bin"))
                    ? "only the legacy pickle adapter_model.bin is present; re-save with safe_serialization=True"
                    : "adapter weights are missing");
        }
        try (NDManager scratch = NDManager.newBaseManager(targets.values().iterator().next().device());
             SafetensorsFile file = SafetensorsFile.open(weights)) {
            requireFloating(file);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : file.names()) {
                tensors.put(name, file.load(name, scratch));
            }
            requireOnlyKnownKeys(weights, tensors.keySet(), targets.keySet(), config);
            if (config instanceof VeraConfig vera) {
                return VeraAdapter.fromTensors(vera, targets, tensors);
            }
            return LoraAdapter.fromTensors(config, targets, tensors);
        }
    }

    /** Adapter factors are floating point; an integer or boolean tensor is a corrupt file, not something to cast. */
    private static void requireFloating(SafetensorsFile file) throws TensorFileException {
        for (String name : file.names()) {
            SafetensorsDtype dtype = file.entry(name).dtype();
            if (!dtype.widensToFloat32() && dtype != SafetensorsDtype.F64) {
                throw new TensorFileException(file.path(), name, "has dtype " + dtype + "; adapter weights are "
                        + "floating point (F32, F16, BF16 or F64)");
            }
        }
    }

    private static void requireOnlyKnownKeys(Path file, Set<String> keys, Set<String> modules, AdapterConfig config) {
        Set<String> expected = new HashSet<>();
        for (String module : modules) {
            if (config instanceof VeraConfig) {
                expected.add(PeftKeys.veraLambdaB(module));
                expected.add(PeftKeys.veraLambdaD(module));
            } else {
                expected.add(PeftKeys.loraA(module));
                expected.add(PeftKeys.loraB(module));
            }
        }
        if (config instanceof VeraConfig) {
            expected.add(PeftKeys.VERA_A);
            expected.add(PeftKeys.VERA_B);
        }
        for (String key : keys) {
            if (!expected.contains(key)) {
                throw new AdapterConfigException(file.getFileName() + " '" + key + "'", "does not belong to any "
                        + "module selected by target_modules " + config.targetModules()
                        + " on this model (unsupported tensor kind, or an adapter made for another model)");
            }
        }
    }
}
