package dev.peftd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.peftd.kernel.DataDirectory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded default's data folder and generated key are readable by the service's user only. */
class GeneratedApiKeyTest {

    @TempDir
    Path tmp;

    @Test
    void aFreshDataFolderAndItsKeyAreOwnerOnly() throws IOException {
        assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX file modes");
        DataDirectory data = new DataDirectory(tmp.resolve("fresh/peftd-data"));
        Path objects = data.resolve("objects");
        ByteArrayOutputStream console = new ByteArrayOutputStream();

        ApiKeys keys = GeneratedApiKey.loadOrCreate(data.root().resolve("api-key"),
                new PrintStream(console, true, StandardCharsets.UTF_8));

        assertThat(mode(data.root())).isEqualTo("rwx------");
        assertThat(mode(objects)).isEqualTo("rwx------");
        assertThat(mode(data.root().resolve("api-key"))).isEqualTo("rw-------");
        String printed = console.toString(StandardCharsets.UTF_8).lines().map(String::trim)
                .filter(line -> line.startsWith("peftd-")).findFirst().orElseThrow();
        assertThat(keys.tenantOf(printed)).contains(new Tenant(GeneratedApiKey.TENANT));
        // a second start reads the same key back without printing it
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        assertThat(GeneratedApiKey.loadOrCreate(data.root().resolve("api-key"), new PrintStream(again)).tenantOf(printed))
                .isPresent();
        assertThat(again.size()).isZero();
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
