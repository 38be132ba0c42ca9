package dev.peftd.core.adapter.peft;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LowRank;
import dev.peftd.core.adapter.PeftKeys;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.adapter.deltalora.DeltaLoraAdapter;
import dev.peftd.core.adapter.lora.LoraAdapter;
import dev.peftd.core.adapter.lora.LoraLayer;
import dev.peftd.core.adapter.vera.VeraAdapter;
import dev.peftd.core.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an adapter as a PEFT directory ({@code adapter_config.json} + float32 {@code adapter_model.safetensors} with
 * {@code {"format":"pt"}} metadata) that PEFT, vLLM and LoRAX load:
 * <ul>
 *   <li>LoRA, LoRA-FA, LoRA+: PEFT LoRA with the trained A and B and the user's r, alpha, patterns, rsLoRA;</li>
 *   <li>VeRA: PEFT VeRA with the shared projections (unless {@code save_projection=false}), or its exact rank-r LoRA;</li>
 *   <li>Delta-LoRA: the exact rank-2r LoRA on the original base (methods.md §2): {@code lora_A = [A_T; A_ref]},
 *       {@code lora_B = [(1+λ)s·B_T, −λs·B_ref]}, {@code r = lora_alpha = 2r} so that the scaling is 1.</li>
 * </ul>
 */
public final class PeftExporter {

    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    static final Map<String, String> METADATA = Map.of("format", "pt");

    private PeftExporter() {
    }

    /** What {@link #export} wrote: {@code lora} or {@code vera}. */
    public static String export(AbstractAdapter adapter, Path dir, ExportOptions options) throws IOException {
        if (adapter.isMerged()) {
            throw new IllegalStateException("unmerge the adapter before exporting it");
        }
        Files.createDirectories(dir);
        if (adapter instanceof VeraAdapter vera && !options.veraAsLora()) {
            writeVera(vera, dir, options);
            return "vera";
        }
        if (adapter instanceof LoraAdapter lora && !(adapter instanceof DeltaLoraAdapter)) {
            writeLora(lora, dir, options);
        } else {
            writeExactLora(adapter, dir, options);
        }
        return "lora";
    }

    private static void writeLora(LoraAdapter adapter, Path dir, ExportOptions options) throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (String module : adapter.modules()) {
            LoraLayer layer = adapter.loraLayer(module);
            tensors.put(PeftKeys.loraA(module), layer.a());
            tensors.put(PeftKeys.loraB(module), layer.b());
        }
        LoraConfig c = adapter.config().lora();
        PeftConfigJson.write(dir, PeftConfigJson.lora(c.r(), c.alpha(), c.dropout(), c.useRslora(), c.targetModules().toPeftJson(),
                c.rankPattern().asMap(), c.alphaPattern().asMap(), options.fanInFanOut(), options.baseModelNameOrPath()));
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, METADATA);
    }

    private static void writeVera(VeraAdapter adapter, Path dir, ExportOptions options) throws IOException {
        VeraConfig c = adapter.veraConfig();
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (String module : adapter.modules()) {
            tensors.put(PeftKeys.veraLambdaB(module), adapter.lambdaB(module));
            tensors.put(PeftKeys.veraLambdaD(module), adapter.lambdaD(module));
        }
        if (c.saveProjection()) {
            tensors.put(PeftKeys.VERA_A, adapter.projectionA());
            tensors.put(PeftKeys.VERA_B, adapter.projectionB());
        }
        PeftConfigJson.write(dir, PeftConfigJson.vera(c, c.saveProjection(), options.fanInFanOut(),
                options.baseModelNameOrPath(), c.targetModules().toPeftJson()));
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, METADATA);
    }

    /**
     * Any adapter as the LoRA {@code lora_B = left}, {@code lora_A = right} of its factored ΔW with scaling 1: each
     * module gets {@code r = lora_alpha = k} (its factor width); modules whose k differs from the most common one get
     * exact-name {@code rank_pattern}/{@code alpha_pattern} entries, and {@code target_modules} lists full names.
     */
    private static void writeExactLora(AbstractAdapter adapter, Path dir, ExportOptions options) throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        Map<String, Integer> widths = new LinkedHashMap<>();
        List<LowRank> factors = new ArrayList<>();
        try {
            for (String module : adapter.modules()) {
                LowRank f = adapter.deltaFactors(module);
                factors.add(f);
                tensors.put(PeftKeys.loraA(module), f.right()); // [k, in]
                tensors.put(PeftKeys.loraB(module), f.left());  // [out, k]
                widths.put(module, Math.toIntExact(f.innerDim()));
            }
            int r = mostCommon(widths);
            Map<String, Integer> rankPattern = new LinkedHashMap<>();
            Map<String, Integer> alphaPattern = new LinkedHashMap<>();
            widths.forEach((module, k) -> {
                if (k != r) {
                    String exact = escapeRegex(module);
                    rankPattern.put(exact, k);
                    alphaPattern.put(exact, k);
                }
            });
            PeftConfigJson.write(dir, PeftConfigJson.lora(r, r, 0.0, false, new ArrayList<>(widths.keySet()), rankPattern,
                    alphaPattern, options.fanInFanOut(), options.baseModelNameOrPath()));
            SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, METADATA);
        } finally {
            factors.forEach(LowRank::close);
        }
    }

    /** A regex matching exactly {@code name} in both Python's re and Java (every non-word character escaped). */
    static String escapeRegex(String name) {
        StringBuilder sb = new StringBuilder();
        for (char ch : name.toCharArray()) {
            if (!Character.isLetterOrDigit(ch) && ch != '_') {
                sb.append('\\');
            }
            sb.append(ch);
        }
        return sb.toString();
    }

    private static int mostCommon(Map<String, Integer> widths) {
        Map<Integer, Integer> counts = new HashMap<>();
        widths.values().forEach(k -> counts.merge(k, 1, Integer::sum));
        return counts.entrySet().stream().max(Map.Entry.<Integer, Integer>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey())).orElseThrow().getKey();
    }
}
