package dev.peftd.core.adapter.peft;

import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.analysis.AdapterAnalyzer;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tensor.SafetensorsCheckpoint;
import dev.peftd.core.tensor.TensorEntry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** The whole export of a trained adapter: the PEFT directory plus {@code peftd.json} with checksum and analysis. */
public final class AdapterExport {

    private AdapterExport() {
    }

    /**
     * @param baseModelName what {@code base_model_name_or_path} and the sidecar call the base model: the name users
     *                      know it by (a service writes its model id, never the folder it happens to sit in)
     * @param modelDir      the base model directory the adapter was trained on
     * @param metrics       the run's final metrics (written as given)
     * @return the analysis that was written
     */
    public static AdapterAnalysis write(AbstractAdapter adapter, String baseModelName, Path modelDir,
                                        ModelConfig modelConfig, Path outDir, Map<String, ?> metrics,
                                        boolean veraAsLora) throws IOException {
        String name = baseModelName;
        String exportedAs = PeftExporter.export(adapter, outDir,
                ExportOptions.forModel(name, modelConfig).withVeraAsLora(veraAsLora));
        AdapterAnalysis analysis = AdapterAnalyzer.analyze(adapter, parameterCount(modelDir));
        PeftdSidecar.write(outDir, adapter, exportedAs, name, ModelChecksum.of(modelDir), metrics, analysis);
        return analysis;
    }

    /**
     * Every element of every tensor in the checkpoint, except a stored copy of a tied output head (some converters
     * write {@code lm_head.weight} although the model reuses the embedding).
     */
    public static long parameterCount(Path modelDir) throws IOException {
        boolean tied = ModelLoader.readConfig(modelDir).tieWordEmbeddings();
        long n = 0;
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(modelDir)) {
            for (String key : checkpoint.keys()) {
                if (tied && key.equals("lm_head.weight")) {
                    continue;
                }
                TensorEntry e = checkpoint.entry(key);
                n += e.elementCount();
            }
        }
        return n;
    }
}
