package dev.peftd.serving;

import ai.djl.Device;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every base model the serving side uses, loaded at most once per serving device and kept for the life of the pool:
 * concurrent first requests for the same directory wait for one load instead of loading twice.
 */
public final class BaseModelPool implements AutoCloseable {

    private final Device device;
    private final ServingMeters meters;
    private final Map<String, LoadedBase> loaded = new ConcurrentHashMap<>();

    public BaseModelPool(Device device, ServingMeters meters) {
        this.device = device;
        this.meters = meters;
    }

    /** The loaded model of {@code directory} (a Hugging Face model folder with tokenizer.json), loading it if needed. */
    public LoadedBase get(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        String key = dir + "@" + device;
        return loaded.computeIfAbsent(key, k -> load(k, dir));
    }

    /** Frees a base model (e.g. when it is deleted); requests still running on it must have finished. */
    public void unload(Path directory) {
        LoadedBase base = loaded.remove(directory.toAbsolutePath().normalize() + "@" + device);
        if (base != null) {
            base.close();
        }
    }

    public Device device() {
        return device;
    }

    private LoadedBase load(String key, Path dir) {
        long start = System.nanoTime();
        CausalLm model;
        try {
            model = ModelLoader.load(dir, device);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load base model " + dir + ": " + e.getMessage(), e);
        }
        try {
            LoadedBase base = LoadedBase.of(key, dir, model, Tokenizer.load(dir));
            meters.baseModelLoaded(System.nanoTime() - start);
            return base;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    @Override
    public void close() {
        loaded.values().forEach(LoadedBase::close);
        loaded.clear();
    }
}
