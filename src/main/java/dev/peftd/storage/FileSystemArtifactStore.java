package dev.peftd.storage;

import dev.peftd.kernel.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Objects as files below one folder; writes go to a temporary sibling first and are moved into place atomically.
 * Objects are tenants' data: files 0600 and folders 0700 (on POSIX file systems), readable by the service's user only.
 */
final class FileSystemArtifactStore implements ArtifactStore {

    private final Path root;

    FileSystemArtifactStore(Path root) throws IOException {
        this.root = PrivateFiles.createDirectories(root.toAbsolutePath().normalize());
    }

    @Override
    public void put(String key, Path file) throws IOException {
        Path target = resolve(key);
        PrivateFiles.createDirectories(target.getParent());
        Path temp = PrivateFiles.createTempFile(target.getParent(), ".upload-", ".tmp");
        try {
            Files.copy(file, temp, StandardCopyOption.REPLACE_EXISTING);   // recreates temp with the default mode
            PrivateFiles.restrict(temp);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    @Override
    public InputStream open(String key) throws IOException {
        Path path = resolve(key);
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(key, null, "no object with this key in " + location());
        }
        return Files.newInputStream(path);
    }

    @Override
    public boolean exists(String key) {
        return Files.isRegularFile(resolve(key));
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        Path dir = resolve(prefix);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith(".upload-"))
                    .map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .sorted()
                    .toList();
        }
    }

    @Override
    public void delete(String key) throws IOException {
        Path path = resolve(key);
        Files.deleteIfExists(path);
        // prune empty parents so deleted jobs leave no folders behind
        for (Path dir = path.getParent(); dir != null && !dir.equals(root); dir = dir.getParent()) {
            try (Stream<Path> rest = Files.list(dir)) {
                if (rest.findAny().isPresent()) {
                    break;
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    @Override
    public String location() {
        return root.toUri().toString();
    }

    @Override
    public void probe() throws IOException {
        if (!Files.isDirectory(root) || !Files.isWritable(root)) {
            throw new IOException("object folder " + root + " is missing or not writable");
        }
    }

    private Path resolve(String key) {
        Path path = root.resolve(key).normalize();
        if (!path.startsWith(root) || key.startsWith("/")) {
            throw new IllegalArgumentException("object key '" + key + "' escapes the store");
        }
        return path;
    }
}
