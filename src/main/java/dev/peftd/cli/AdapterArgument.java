package dev.peftd.cli;

import com.google.gson.JsonObject;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.peft.ModelChecksum;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.adapter.peft.PeftdSidecar;
import dev.peftd.core.model.CausalLm;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The {@code --adapter DIR} option of generate, score, merge and analyze: a PEFT LoRA or VeRA directory, peftd's or
 * PEFT's, read by the core's importer onto the model's linear layers. The adapter is the forward pass's
 * {@code LinearHook}: it adds its branch to each adapted layer's base output (unmerged, as serving applies it).
 */
final class AdapterArgument {

    /** The option's lines in a command's help. */
    static final String HELP =
            "  --adapter DIR      a PEFT LoRA or VeRA adapter directory (adapter_config.json + adapter_model.safetensors),\n"
            + "                     peftd's or PEFT's, applied to the model unmerged";

    private AdapterArgument() {
    }

    static Path directory(String value) throws UsageException {
        Path dir = Path.of(value);
        if (!Files.isDirectory(dir)) {
            throw new UsageException("--adapter " + value + ": " + (Files.exists(dir) ? "not a directory"
                    : "directory does not exist (give a PEFT adapter directory)"));
        }
        return dir;
    }

    /**
     * Loads the adapter onto {@code model} (loaded from {@code modelDir}); the caller closes it before the model.
     * Warns on {@code err} when the adapter's peftd.json records another base model.
     */
    static AbstractAdapter load(Path adapterDir, Path modelDir, CausalLm model, PrintStream err) throws UsageException {
        AbstractAdapter adapter;
        try {
            adapter = PeftImporter.load(adapterDir, model.linears());
        } catch (IOException | UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
            throw new UsageException("--adapter " + adapterDir + ": " + e.getMessage(), e);
        }
        try {
            warnOnOtherBase(modelDir, adapterDir, err);
            return adapter;
        } catch (IOException | RuntimeException e) {
            adapter.close();
            throw new UsageException("--adapter " + adapterDir + ": " + e.getMessage(), e);
        }
    }

    /** peftd.json records the base checksum: a different base still loads (same shapes), but deserves a warning. */
    private static void warnOnOtherBase(Path model, Path adapterDir, PrintStream err) throws IOException {
        JsonObject sidecar = PeftdSidecar.read(adapterDir);
        if (sidecar == null || !sidecar.has("base_model")) {
            return;
        }
        String recorded = sidecar.getAsJsonObject("base_model").get("checksum").getAsString();
        String actual = ModelChecksum.of(model);
        if (!recorded.equals(actual)) {
            err.println("warning: " + adapterDir.resolve(PeftdSidecar.FILE) + " was trained on base " + recorded
                    + ", but --model " + model + " is " + actual);
        }
    }
}
