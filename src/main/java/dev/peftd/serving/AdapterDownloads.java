package dev.peftd.serving;

import dev.peftd.kernel.DataDirectory;
import dev.peftd.storage.ArtifactStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.stereotype.Component;
import org.springframework.util.FileSystemUtils;

/**
 * Node-local copies of stored adapters ({@code <data dir>/serving/adapters/…}): a cache miss reads the adapter from
 * here, and only the first one on this node downloads it from the store. A copy counts only once complete (a marker
 * file is written last), so a crash mid-download is downloaded again.
 */
@Component
class AdapterDownloads {

    private static final String COMPLETE = ".complete";

    private final ArtifactStore store;
    private final Path root;

    AdapterDownloads(ArtifactStore store, DataDirectory data) {
        this.store = store;
        this.root = data.resolve("serving").resolve("adapters");
    }

    /**
     * @param storePrefix the adapter's prefix in the store (ends with {@code /})
     * @param localName   a folder name unique to this adapter's content, e.g. {@code tenant/adapter-id}
     */
    AdapterCache.AdapterFiles files(String storePrefix, String localName) {
        return () -> fetch(storePrefix, root.resolve(localName));
    }

    /** Forgets the local copy (the adapter was deleted). */
    void forget(String localName) throws IOException {
        FileSystemUtils.deleteRecursively(root.resolve(localName));
    }

    private synchronized Path fetch(String prefix, Path dir) throws IOException {
        if (Files.exists(dir.resolve(COMPLETE))) {
            return dir;
        }
        FileSystemUtils.deleteRecursively(dir);
        Files.createDirectories(dir);
        store.getDirectory(prefix, dir);
        if (!Files.exists(dir.resolve("adapter_config.json"))) {
            throw new IOException("the store holds no adapter under '" + prefix + "'");
        }
        Files.createFile(dir.resolve(COMPLETE));
        return dir;
    }
}
