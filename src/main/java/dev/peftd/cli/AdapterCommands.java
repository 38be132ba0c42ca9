package dev.peftd.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.analysis.AdapterAnalyzer;
import dev.peftd.core.adapter.peft.AdapterExport;
import dev.peftd.core.adapter.peft.ExportOptions;
import dev.peftd.core.adapter.peft.MergedCheckpointWriter;
import dev.peftd.core.adapter.peft.PeftdSidecar;
import dev.peftd.core.model.CausalLm;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code merge} (an adapter into a full HF checkpoint) and {@code analyze} (what an adapter changed). Both take any
 * PEFT LoRA or VeRA directory, ours or PEFT's.
 */
final class AdapterCommands {

    static final String MERGE_HELP = """
            usage: merge --model DIR --adapter DIR --out DIR
              Writes the model with the adapter merged into its weights to --out as a full Hugging Face checkpoint
              (safetensors, config and tokenizer files copied).
            %s
              --adapter DIR      a PEFT LoRA or VeRA adapter directory, peftd's or PEFT's
              --out DIR          where the merged checkpoint goes""".formatted(ModelArgument.HELP);
    static final String ANALYZE_HELP = """
            usage: analyze --model DIR --adapter DIR [--json]
              What the adapter changes, module by module: |dW|, |dW|/|W|, singular values, effective ranks.
            %s
              --adapter DIR      a PEFT LoRA or VeRA adapter directory, peftd's or PEFT's
              --json             one JSON object instead of the table""".formatted(ModelArgument.HELP);

    private AdapterCommands() {
    }

    static void register() {
        Cli.register("merge", MERGE_HELP, AdapterCommands::merge);
        Cli.register("analyze", ANALYZE_HELP, AdapterCommands::analyze);
    }

    /** {@code merge --model DIR --adapter DIR --out DIR}. */
    static int merge(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("model", "adapter", "out"), Set.of());
        Path model = ModelArgument.directory(o.required("model"));
        Path adapterDir = AdapterArgument.directory(o.required("adapter"));
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
        Path model = ModelArgument.directory(o.required("model"));
        Path adapterDir = AdapterArgument.directory(o.required("adapter"));
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
        try (CausalLm lm = ModelArgument.load(model);
             AbstractAdapter adapter = AdapterArgument.load(adapterDir, model, lm, err)) {
            return action.run(lm, adapter);
        } catch (IOException | UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }
}
