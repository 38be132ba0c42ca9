package dev.peftd.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** One contract, two stores: the filesystem store and the S3 store against a real S3 server (S3Proxy, in the JVM). */
class ArtifactStoreTest {

    static S3ProxyServer s3;
    @TempDir
    static Path tmp;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = new S3ProxyServer();
    }

    @AfterAll
    static void stopS3() throws Exception {
        s3.close();
    }

    static Stream<ArtifactStore> stores() throws Exception {
        S3ArtifactStore checksumsByDefault = new S3ArtifactStore(s3.settings("artifacts", "when_supported").client(),
                "artifacts", "");
        checksumsByDefault.createBucketIfMissing();
        S3ArtifactStore onlyWhenRequired = new S3ArtifactStore(s3.settings("artifacts2", "when_required").client(),
                "artifacts2", "peftd/");
        onlyWhenRequired.createBucketIfMissing();
        return Stream.of(new FileSystemArtifactStore(Files.createTempDirectory(tmp, "objects")), checksumsByDefault,
                onlyWhenRequired);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void putOpenListDelete(ArtifactStore store) throws Exception {
        Path file = Files.writeString(tmp.resolve("data.jsonl"), "{\"text\":\"hi\"}\n");
        String key = ObjectKeys.file("alpha", "file-1");
        store.put(key, file);
        assertThat(store.exists(key)).isTrue();
        try (InputStream in = store.open(key)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("{\"text\":\"hi\"}\n");
        }
        assertThat(store.list("files/alpha/")).containsExactly(key);
        assertThat(store.list("files/beta/")).isEmpty();
        store.delete(key);
        assertThat(store.exists(key)).isFalse();
        assertThatThrownBy(() -> store.open(key)).isInstanceOf(NoSuchFileException.class).hasMessageContaining(key);
        store.probe();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void directoriesRoundTrip(ArtifactStore store) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("adapter-" + System.nanoTime()));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"r\":4}");
        Files.write(dir.resolve("adapter_model.safetensors"), new byte[] {1, 2, 3, 4, 5});
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/peftd.json"), "{}");
        String prefix = ObjectKeys.adapter("alpha", "ftjob-1");
        store.putDirectory(prefix, dir);
        assertThat(store.list(prefix)).containsExactly(prefix + "adapter_config.json",
                prefix + "adapter_model.safetensors", prefix + "sub/peftd.json");
        Path back = tmp.resolve("back-" + System.nanoTime());
        store.getDirectory(prefix, back);
        assertThat(Files.readAllBytes(back.resolve("adapter_model.safetensors"))).containsExactly(1, 2, 3, 4, 5);
        assertThat(Files.readString(back.resolve("sub/peftd.json"))).isEqualTo("{}");
        store.deleteAll(ObjectKeys.job("alpha", "ftjob-1"));
        assertThat(store.list(prefix)).isEmpty();
    }

    @Test
    void keysCannotClimbOutOfTheirPrefix() {
        for (String bad : List.of("..", "../x", "a/b", "", ".hidden")) {
            assertThatThrownBy(() -> ObjectKeys.file(bad, "file-1")).hasMessageContaining("unsafe");
            assertThatThrownBy(() -> ObjectKeys.checkpoint("alpha", bad, 1)).hasMessageContaining("unsafe");
        }
        assertThat(ObjectKeys.checkpoint("alpha", "ftjob-1", 12)).isEqualTo("jobs/alpha/ftjob-1/checkpoints/step-00000012/");
    }

    @Test
    void theFilesystemStoreKeepsObjectsPrivateToTheServiceUser() throws Exception {
        assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX file modes");
        Path root = tmp.resolve("private-" + System.nanoTime() + "/objects");   // missing: the store creates it
        ArtifactStore store = new FileSystemArtifactStore(root);
        Path source = Files.writeString(tmp.resolve("readable-by-all.jsonl"), "{}\n");
        Files.setPosixFilePermissions(source, PosixFilePermissions.fromString("rw-r--r--"));
        String key = ObjectKeys.checkpoint("alpha", "ftjob-1", 2) + "adapter_state.safetensors";

        store.put(key, source);
        store.put(key, source);   // replacing an object keeps it private too

        Path object = root.resolve(key);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(object))).isEqualTo("rw-------");
        for (Path dir = object.getParent(); dir.startsWith(root.getParent()); dir = dir.getParent()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).as(dir.toString())
                    .isEqualTo("rwx------");
        }
    }

    @Test
    void theFilesystemStoreRefusesKeysOutsideItsFolder() throws Exception {
        ArtifactStore store = new FileSystemArtifactStore(Files.createTempDirectory(tmp, "guard"));
        assertThatThrownBy(() -> store.exists("../outside")).hasMessageContaining("escapes");
        assertThatThrownBy(() -> store.exists("/etc/passwd")).hasMessageContaining("escapes");
    }

    @Test
    void s3ErrorsNameTheStoreAndTheOperation() {
        S3ArtifactStore missingBucket = new S3ArtifactStore(s3.settings("no-such-bucket", "when_required").client(),
                "no-such-bucket", "");
        assertThatThrownBy(missingBucket::probe).hasMessageContaining("s3://no-such-bucket/")
                .hasMessageContaining("head bucket");
        S3Settings wrongSecret = new S3Settings("artifacts", "", s3.endpoint(), "us-east-1", true,
                S3ProxyServer.ACCESS_KEY, "wrong", "when_required", false);
        S3ArtifactStore denied = new S3ArtifactStore(wrongSecret.client(), "artifacts", "");
        assertThatThrownBy(() -> denied.list("files/")).hasMessageContaining("s3://artifacts/");
    }
}
