package dev.peftd.serving;

import dev.peftd.kernel.Refusal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Unpacks an uploaded zip of a PEFT directory: entries may sit at the top or in one folder; an entry that would
 * land outside the target folder is refused. Returns the folder that holds {@code adapter_config.json}.
 *
 * <p>A zip's declared sizes are whatever its writer claims, and a few KB of deflated zeros expand to gigabytes, so
 * the limits are counted on the bytes as they are inflated and written: the archive stops being read at the first
 * byte over {@code maxBytes} (in total, so in any one entry too) or at the entry after {@code maxEntries}, and never
 * more than {@code maxBytes} reach the disk.
 */
final class AdapterZip {

    private static final int BUFFER = 64 * 1024;

    private final long maxBytes;
    private final int maxEntries;

    /**
     * @param maxBytes   uncompressed bytes the archive may hold in all
     * @param maxEntries entries (files and folders) it may hold
     */
    AdapterZip(long maxBytes, int maxEntries) {
        if (maxBytes <= 0 || maxEntries <= 0) {
            throw new IllegalArgumentException("adapter zip limits must be positive, got " + maxBytes + " bytes and "
                    + maxEntries + " entries");
        }
        this.maxBytes = maxBytes;
        this.maxEntries = maxEntries;
    }

    Path unpack(InputStream zip, Path target) throws IOException {
        Path root = target.toAbsolutePath().normalize();
        int entries = 0;
        int files = 0;
        long written = 0;
        byte[] buffer = new byte[BUFFER];
        try (ZipInputStream in = new ZipInputStream(zip)) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                if (++entries > maxEntries) {
                    throw tooLarge("holds more than " + maxEntries + " entries (zip only the adapter folder)");
                }
                Path file = root.resolve(entry.getName()).normalize();
                if (!file.startsWith(root) || file.equals(root)) {
                    throw new InvalidRequestException("file", "zip entry '" + entry.getName() + "' escapes the archive");
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(file);
                    continue;
                }
                Files.createDirectories(file.getParent());
                try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW)) {
                    for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                        written += n;
                        if (written > maxBytes) {
                            throw tooLarge("expands beyond " + maxBytes + " bytes (at entry '" + entry.getName()
                                    + "'); adapters larger than that are refused");
                        }
                        out.write(buffer, 0, n);
                    }
                } catch (FileAlreadyExistsException e) {
                    throw new InvalidRequestException("file", "zip entry '" + entry.getName() + "' appears twice");
                }
                files++;
            }
        }
        if (files == 0) {
            throw new InvalidRequestException("file", "is not a zip archive of a PEFT adapter directory (no entries)");
        }
        try (Stream<Path> found = Files.walk(root, 2)) {
            return found.filter(p -> p.getFileName().toString().equals("adapter_config.json")).map(Path::getParent)
                    .findFirst().orElseThrow(() -> new InvalidRequestException("file",
                            "the zip holds no adapter_config.json (zip the folder PEFT's save_pretrained wrote)"));
        }
    }

    private static Refusal tooLarge(String reason) {
        return new Refusal(Refusal.Kind.PAYLOAD_TOO_LARGE, "file: the adapter zip " + reason,
                List.of(new Refusal.FieldError("file", "the adapter zip " + reason)));
    }
}
