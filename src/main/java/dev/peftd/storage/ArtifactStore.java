package dev.peftd.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where datasets, checkpoints and adapters live: a flat namespace of keys, built only by {@link ObjectKeys}.
 * Implementations: the local filesystem (the embedded default) and any S3-compatible store.
 */
public interface ArtifactStore {

    /** Stores a file under {@code key}, replacing what was there; readers never see a partial object. */
    void put(String key, Path file) throws IOException;

    /** Opens an object; throws {@link java.nio.file.NoSuchFileException} naming the key when it is absent. */
    InputStream open(String key) throws IOException;

    boolean exists(String key) throws IOException;

    /** Keys under a prefix (the prefix ends with {@code /}), in lexical order. */
    List<String> list(String prefix) throws IOException;

    void delete(String key) throws IOException;

    /** Where the store is, for logs and health: {@code file:///…} or {@code s3://bucket/prefix}. */
    String location();

    /** Throws when the store cannot be reached or written; used by the readiness probe. */
    void probe() throws IOException;

    default void deleteAll(String prefix) throws IOException {
        for (String key : list(prefix)) {
            delete(key);
        }
    }

    /** Uploads every regular file below {@code dir} under {@code prefix}, keeping relative paths. */
    default void putDirectory(String prefix, Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                put(prefix + dir.relativize(file).toString().replace('\\', '/'), file);
            }
        }
    }

    /** Downloads every object under {@code prefix} into {@code dir}; refuses keys that would escape it. */
    default void getDirectory(String prefix, Path dir) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        for (String key : list(prefix)) {
            Path target = root.resolve(key.substring(prefix.length())).normalize();
            if (!target.startsWith(root)) {
                throw new IOException("object key '" + key + "' escapes the download folder");
            }
            Files.createDirectories(target.getParent());
            try (InputStream in = open(key)) {
                Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
