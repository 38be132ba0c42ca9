package dev.peftd.job;

import dev.peftd.storage.ArtifactStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.springframework.stereotype.Component;

/** Streams a stored adapter directory as a zip, entry names relative to the directory. */
@Component
class AdapterArchive {

    private final ArtifactStore store;

    AdapterArchive(ArtifactStore store) {
        this.store = store;
    }

    void write(String prefix, OutputStream out) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(out);
        for (String key : store.list(prefix)) {
            zip.putNextEntry(new ZipEntry(key.substring(prefix.length())));
            try (InputStream in = store.open(key)) {
                in.transferTo(zip);
            }
            zip.closeEntry();
        }
        zip.finish();
    }
}
