package dev.peftd.serving;

import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.peft.ExportOptions;
import dev.peftd.core.adapter.peft.MergedCheckpointWriter;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.tensor.NoGrad;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes the merged Hugging Face checkpoint of an adapter ({@code W0 + ΔW} per adapted module, config and
 * tokenizer files copied) from the shared base: the merge reads the base's original weights and the adapter's
 * {@code deltaWeight}, so the loaded base that other requests use is never written to.
 */
final class AdapterMerger {

    private AdapterMerger() {
    }

    public static void merge(LoadedBase base, Path adapterDir, Path outDir) throws IOException {
        try (NoGrad ignored = NoGrad.enter();
             AbstractAdapter adapter = PeftImporter.load(adapterDir, base.model().linears())) {
            MergedCheckpointWriter.write(base.directory(), adapter, outDir,
                    ExportOptions.usesConv1d(base.model().config().architecture()));
        }
    }
}
