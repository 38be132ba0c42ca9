package dev.peftd.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirectoryLockTest {

    @TempDir
    Path tmp;

    /** The lock is the first thing to touch a fresh data folder, so the folder's mode is decided here. */
    @Test
    void lockingAFreshDataFolderCreatesItOwnerOnly() throws IOException {
        assumeThat(tmp.getFileSystem().supportedFileAttributeViews()).contains("posix");
        Path root = tmp.resolve("fresh/peftd-data");

        DataDirectoryLock.acquire(new DataDirectory(root));

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("peftd.lock"))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(root.resolve("peftd.lock")).trim()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
}
