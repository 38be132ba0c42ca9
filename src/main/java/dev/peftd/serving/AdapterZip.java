package dev.peftd.serving;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Unpacks an uploaded zip of a PEFT directory: entries may sit at the top or in one folder; an entry that would
 * land outside the target folder is refused. Returns the folder that holds {@code adapter_config.json}.
 */
final class AdapterZip {

    private AdapterZip() {
    }

    static Path unpack(InputStream zip, Path target) throws IOException {
        Path root = target.toAbsolutePath().normalize();
        int entries = 0;
        try (ZipInputStream in = new ZipInputStream(zip)) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                Path file = root.resolve(entry.getName()).normalize();
                if (!file.startsWith(root)) {
                    throw new InvalidRequestException("file", "zip entry '" + entry.getName() + "' escapes the archive");
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(file);
                } else {
                    Files.createDirectories(file.getParent());
                    Files.copy(in, file);
                    entries++;
                }
            }
        }
        if (entries == 0) {
            throw new InvalidRequestException("file", "is not a zip archive of a PEFT adapter directory (no entries)");
        }
        try (Stream<Path> files = Files.walk(root, 2)) {
            return files.filter(p -> p.getFileName().toString().equals("adapter_config.json")).map(Path::getParent)
                    .findFirst().orElseThrow(() -> new InvalidRequestException("file",
                            "the zip holds no adapter_config.json (zip the folder PEFT's save_pretrained wrote)"));
        }
    }
}
