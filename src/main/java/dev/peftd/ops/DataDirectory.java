package dev.peftd.ops;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one folder the embedded defaults keep their state in ({@code PEFTD_DATA_DIR}, default {@code ./peftd-data}):
 * the embedded PostgreSQL cluster, the filesystem object store, the generated API key and the model cache.
 */
public record DataDirectory(Path root) {

    public DataDirectory {
        root = root.toAbsolutePath().normalize();
    }

    /** A sub-folder, created on first use. */
    public Path resolve(String name) {
        Path dir = root.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create data folder " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }
}
