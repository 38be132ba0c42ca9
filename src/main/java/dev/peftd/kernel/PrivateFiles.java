package dev.peftd.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files the service writes under its data folder hold tenants' datasets, adapters and keys, so they are readable by
 * the service's own user only: folders 0700, files 0600. On a file system without POSIX modes (Windows, some mounts)
 * these calls fall back to the plain operations and the folder's own access rules apply.
 */
public final class PrivateFiles {

    private static final Set<PosixFilePermission> FOLDER = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateFiles() {
    }

    /** Creates a folder and its missing parents; the ones created here are 0700 (existing ones are left as they are). */
    public static Path createDirectories(Path dir) throws IOException {
        return posix(dir)
                ? Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(FOLDER))
                : Files.createDirectories(dir);
    }

    /** A new, empty temporary file in {@code dir}, 0600 from the moment it exists. */
    public static Path createTempFile(Path dir, String prefix, String suffix) throws IOException {
        FileAttribute<?>[] attributes = posix(dir)
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)} : new FileAttribute<?>[0];
        return Files.createTempFile(dir, prefix, suffix, attributes);
    }

    /** Makes an existing file 0600 (a folder 0700), whatever mode the call that wrote it gave it. */
    public static void restrict(Path path) throws IOException {
        if (posix(path)) {
            Files.setPosixFilePermissions(path, Files.isDirectory(path) ? FOLDER : FILE);
        }
    }

    private static boolean posix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
