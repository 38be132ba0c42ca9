package dev.peftd.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.analysis.AdapterAnalyzer;
import dev.peftd.core.adapter.peft.AdapterExport;
import dev.peftd.core.adapter.peft.ExportOptions;
import dev.peftd.core.adapter.peft.MergedCheckpointWriter;
import dev.peftd.core.adapter.peft.ModelChecksum;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.adapter.peft.PeftdSidecar;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code merge} (an adapter into a full HF checkpoint) and {@code analyze} (what an adapter changed). Both take any
 * PEFT LoRA or VeRA directory, ours or PEFT's.
 */
final class AdapterCommands {

    private AdapterCommands() {
    }

    static void register() {
        Cli.register("merge", AdapterCommands::merge);
        Cli.register("analyze", AdapterCommands::analyze);
    }

    /** {@code merge --model DIR --adapter DIR --out DIR}. */
    static int merge(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapter", "out"), Set.of());
        Path model = directory(o, "model");
        Path adapterDir = directory(o, "adapter");
        Path target = Path.of(o.required("out"));
        return withAdapter(model, adapterDir, err, (lm, adapter) -> {
            MergedCheckpointWriter.write(model, adapter, target,
                    ExportOptions.usesConv1d(lm.config().architecture()));
            out.println("merged " + adapter.method().id() + " adapter (" + adapter.modules().size()
                    + " modules) into " + target);
            return 0;
        });
    }

    /** {@code analyze --model DIR --adapter DIR [--json]}. */
    static int analyze(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapter"), Set.of("json"));
        Path model = directory(o, "model");
        Path adapterDir = directory(o, "adapter");
        boolean json = o.flag("json");
        return withAdapter(model, adapterDir, err, (lm, adapter) -> {
            AdapterAnalysis analysis = AdapterAnalyzer.analyze(adapter, AdapterExport.parameterCount(model));
            JsonObject sidecar = PeftdSidecar.read(adapterDir);
            String trainedAs = sidecar != null && sidecar.has("method") ? sidecar.get("method").getAsString() : null;
            if (json) {
                Map<String, Object> result = analysis.toJson();
                if (trainedAs != null) {
                    result.put("trained_as", trainedAs);
                }
                out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(result));
            } else {
                if (trainedAs != null && !trainedAs.equals(analysis.method())) {
                    out.println("trained as " + trainedAs + " (" + sidecar.get("trainable_params").getAsLong()
                            + " trainable parameters), stored as its exact PEFT " + analysis.method()
                            + " (counted below)");
                }
                out.print(analysis.toTable());
            }
            return 0;
        });
    }

    @FunctionalInterface
    private interface AdapterAction {
        int run(CausalLm model, AbstractAdapter adapter) throws IOException;
    }

    private static int withAdapter(Path model, Path adapterDir, PrintStream err, AdapterAction action)
            throws UsageException {
        try (CausalLm lm = ModelLoader.load(model);
             AbstractAdapter adapter = PeftImporter.load(adapterDir, lm.linears())) {
            warnOnOtherBase(model, adapterDir, err);
            return action.run(lm, adapter);
        } catch (IOException | UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
            throw new UsageException(e.getMessage(), e);
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

    private static Path directory(CliOptions o, String name) throws UsageException {
        Path dir = Path.of(o.required(name));
        if (!Files.isDirectory(dir)) {
            throw new UsageException("--" + name + ": " + dir + " is not a directory");
        }
        return dir;
    }
}
