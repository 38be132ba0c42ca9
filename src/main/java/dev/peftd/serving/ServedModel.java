package dev.peftd.serving;

import java.nio.file.Path;

/**
 * What a request's {@code model} name resolved to: a base model directory and, for an adapter or a fine-tuned
 * model, the adapter to apply unmerged on it.
 *
 * @param name      the name the client used (echoed in responses)
 * @param baseDir   the Hugging Face model folder to load once and share
 * @param adapterKey cache identity of the adapter (content-specific), {@code null} for a bare base or merged model
 * @param adapterFiles where the adapter's PEFT directory comes from, {@code null} without an adapter
 */
record ServedModel(String name, Path baseDir, ServingMode mode, String adapterKey, AdapterCache.AdapterFiles adapterFiles) {

    public ServedModel {
        if ((mode == ServingMode.UNMERGED) != (adapterKey != null && adapterFiles != null)) {
            throw new IllegalArgumentException("an unmerged model needs an adapter, and only it has one");
        }
    }

    public static ServedModel base(String name, Path baseDir) {
        return new ServedModel(name, baseDir, ServingMode.BASE, null, null);
    }

    public static ServedModel merged(String name, Path mergedDir) {
        return new ServedModel(name, mergedDir, ServingMode.MERGED, null, null);
    }

    public static ServedModel adapter(String name, Path baseDir, String adapterKey, AdapterCache.AdapterFiles files) {
        return new ServedModel(name, baseDir, ServingMode.UNMERGED, adapterKey, files);
    }

    public boolean hasAdapter() {
        return mode == ServingMode.UNMERGED;
    }
}
