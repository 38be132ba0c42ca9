package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.kernel.Refusal;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Uploaded adapter zips are limited while they are read: what reaches the disk never exceeds the limit. */
class AdapterZipTest {

    private static final long LIMIT = 1024 * 1024;

    /** Deflated zeros: {@code megabytes} MB of them zip to about a thousandth of that. */
    static byte[] bomb(int megabytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("bomb/adapter_config.json"));
            zip.write("{\"peft_type\": \"LORA\"}".getBytes(StandardCharsets.UTF_8));
            zip.putNextEntry(new ZipEntry("bomb/adapter_model.safetensors"));
            byte[] zeros = new byte[1024 * 1024];
            for (int i = 0; i < megabytes; i++) {
                zip.write(zeros);
            }
        }
        return out.toByteArray();
    }

    @Test
    void aZipBombIsRefusedBeforeMoreThanTheLimitReachesTheDisk(@TempDir Path target) throws IOException {
        byte[] zip = bomb(64);
        assertThat(zip.length).as("compressed size").isLessThan(256 * 1024);
        AdapterZip limited = new AdapterZip(LIMIT, 16);
        assertThatThrownBy(() -> limited.unpack(new ByteArrayInputStream(zip), target))
                .isInstanceOfSatisfying(Refusal.class, p -> {
                    assertThat(p.kind()).isEqualTo(Refusal.Kind.PAYLOAD_TOO_LARGE);
                    assertThat(p.errors()).extracting(Refusal.FieldError::field).containsExactly("file");
                    assertThat(p.getMessage()).contains("expands beyond " + LIMIT + " bytes")
                            .contains("bomb/adapter_model.safetensors").doesNotContain(target.toString());
                });
        assertThat(bytesUnder(target)).as("bytes written before the refusal").isLessThanOrEqualTo(LIMIT);
    }

    @Test
    void tooManyEntriesAreRefusedAtTheFirstOneOver(@TempDir Path target) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (int i = 0; i < 20; i++) {
                zip.putNextEntry(new ZipEntry("a/file-" + i + ".txt"));
                zip.write('x');
            }
        }
        assertThatThrownBy(() -> new AdapterZip(LIMIT, 16).unpack(new ByteArrayInputStream(out.toByteArray()), target))
                .isInstanceOfSatisfying(Refusal.class, p -> assertThat(p.getMessage())
                        .contains("more than 16 entries"));
        try (Stream<Path> files = Files.list(target.resolve("a"))) {
            assertThat(files.count()).isEqualTo(16);
        }
    }

    @Test
    void anAdapterWithinTheLimitsUnpacksAndTraversalIsStillRefused(@TempDir Path target) throws IOException {
        byte[] small = bomb(0);
        assertThat(new AdapterZip(LIMIT, 16).unpack(new ByteArrayInputStream(small), target.resolve("ok")))
                .satisfies(p -> assertThat(p.getFileName().toString()).isEqualTo("bomb"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("../escape.txt"));
            zip.write('x');
        }
        assertThatThrownBy(() -> new AdapterZip(LIMIT, 16).unpack(new ByteArrayInputStream(out.toByteArray()),
                target.resolve("evil"))).isInstanceOf(InvalidRequestException.class).hasMessageContaining("escapes");
        assertThat(target.resolve("escape.txt")).doesNotExist();
    }

    static long bytesUnder(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
