package dev.peftd.core.adapter.peft;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code peftd.json}, written beside the PEFT files: what PEFT's {@code adapter_config.json} cannot say (and must not
 * contain — PEFT drops unknown keys with a warning): the training method, its hyper-parameters, the base model's
 * checksum, the final metrics and the "what changed" analysis.
 */
public final class PeftdSidecar {

    public static final String FILE = "peftd.json";
    public static final int FORMAT_VERSION = 1;

    private PeftdSidecar() {
    }

    /**
     * @param exportedAs    what {@link PeftExporter#export} wrote ({@code lora} or {@code vera})
     * @param baseChecksum  {@link ModelChecksum#of} of the base model
     * @param metrics       final metrics supplied by the caller (e.g. {@code final_loss}, {@code eval_loss}); may be empty
     * @param analysis      the adapter's analysis, or {@code null}
     */
    public static void write(Path dir, AbstractAdapter adapter, String exportedAs, String baseModel,
                             String baseChecksum, Map<String, ?> metrics, AdapterAnalysis analysis) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("format_version", FORMAT_VERSION);
        json.put("method", adapter.method().id());
        json.put("exported_as", exportedAs);
        json.put("hyperparameters", adapter.config().hyperparameters());
        Map<String, Object> base = new LinkedHashMap<>();
        base.put("name_or_path", baseModel);
        base.put("checksum", baseChecksum);
        json.put("base_model", base);
        json.put("adapted_modules", adapter.modules().size());
        json.put("trainable_params", adapter.trainableParameterCount());
        json.put("metrics", metrics == null ? Map.of() : metrics);
        json.put("analysis", analysis == null ? null : analysis.toJson());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(FILE), PeftConfigJson.GSON.toJson(json) + "\n");
    }

    /** The sidecar of an adapter directory, or {@code null} when it has none (e.g. a PEFT-made adapter). */
    public static JsonObject read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(file + ": not a JSON object (" + e.getMessage() + ")", e);
        }
    }
}
