package dev.peftd.serving;

import dev.peftd.core.model.ModelDtype;
import java.nio.file.Path;

/**
 * What a request's {@code model} name resolved to: a base model directory and, for an adapter or a fine-tuned
 * model, the adapter to apply unmerged on it.
 *
 * @param name      the name the client used (echoed in responses)
 * @param baseDir   the Hugging Face model folder to load once and share
 * @param adapterKey cache identity of the adapter (content-specific), {@code null} for a bare base or merged model
 * @param adapterFiles where the adapter's PEFT directory comes from, {@code null} without an adapter
 * @param dtype     the type the base is loaded in (its registration's; adapters stay float32 on any)
 */
record ServedModel(String name, Path baseDir, ServingMode mode, String adapterKey, AdapterCache.AdapterFiles adapterFiles,
                   ModelDtype dtype) {

    public ServedModel {
        if ((mode == ServingMode.UNMERGED) != (adapterKey != null && adapterFiles != null)) {
            throw new IllegalArgumentException("an unmerged model needs an adapter, and only it has one");
        }
    }

    public static ServedModel base(String name, Path baseDir) {
        return base(name, baseDir, ModelDtype.FLOAT32);
    }

    public static ServedModel base(String name, Path baseDir, ModelDtype dtype) {
        return new ServedModel(name, baseDir, ServingMode.BASE, null, null, dtype);
    }

    public static ServedModel merged(String name, Path mergedDir) {
        return merged(name, mergedDir, ModelDtype.FLOAT32);
    }

    public static ServedModel merged(String name, Path mergedDir, ModelDtype dtype) {
        return new ServedModel(name, mergedDir, ServingMode.MERGED, null, null, dtype);
    }

    public static ServedModel adapter(String name, Path baseDir, String adapterKey, AdapterCache.AdapterFiles files) {
        return adapter(name, baseDir, ModelDtype.FLOAT32, adapterKey, files);
    }

    public static ServedModel adapter(String name, Path baseDir, ModelDtype dtype, String adapterKey,
            AdapterCache.AdapterFiles files) {
        return new ServedModel(name, baseDir, ServingMode.UNMERGED, adapterKey, files, dtype);
    }

    public boolean hasAdapter() {
        return mode == ServingMode.UNMERGED;
    }
}
