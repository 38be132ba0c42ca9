package dev.peftd.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The one folder the embedded defaults keep their state in ({@code PEFTD_DATA_DIR}, default {@code ./peftd-data}):
 * the embedded PostgreSQL cluster, the filesystem object store, the generated API key and the model cache. Folders it
 * creates are private to the service's user (0700, see {@link PrivateFiles}), so nothing below them is readable by
 * other local users whatever mode a file inside was given.
 */
public record DataDirectory(Path root) {

    public DataDirectory {
        root = root.toAbsolutePath().normalize();
    }

    /** A sub-folder, created on first use (with the data folder itself when that is missing). */
    public Path resolve(String name) {
        Path dir = root.resolve(name);
        try {
            PrivateFiles.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create data folder " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }
}
