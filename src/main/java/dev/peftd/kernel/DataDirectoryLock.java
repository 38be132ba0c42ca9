package dev.peftd.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One process per data directory: an exclusive OS lock on {@code <data dir>/peftd.lock}, taken before anything touches
 * the folder's contents (the embedded PostgreSQL cluster above all, which a second process would otherwise take for a
 * crash leftover and stop) and held until the JVM exits, when the OS drops it, also after a kill -9.
 *
 * <p>The file holds the holder's pid so that the refusal can name it; the lock, not the file, is what counts, so a
 * file left behind by a dead process is simply taken over.
 */
final class DataDirectoryLock {

    static final String FILE_NAME = "peftd.lock";

    /** Locks this JVM holds, by folder: a second context in the same process (tests) is the same owner. */
    private static final Map<Path, FileLock> HELD = new ConcurrentHashMap<>();

    private DataDirectoryLock() {
    }

    /** @throws DataDirectoryInUseException when another process holds the folder */
    static void acquire(DataDirectory directory) {
        HELD.computeIfAbsent(directory.root(), DataDirectoryLock::lock);
    }

    private static FileLock lock(Path root) {
        Path file = root.resolve(FILE_NAME);
        try {
            PrivateFiles.createDirectories(root);   // the first thing to create the data folder: owner-only from the start
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            PrivateFiles.restrict(file);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                String holder = Files.readString(file, StandardCharsets.UTF_8).trim();
                channel.close();
                throw new DataDirectoryInUseException(root, holder);
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(Long.toString(ManagementFactory.getRuntimeMXBean().getPid())
                    .getBytes(StandardCharsets.UTF_8)));
            channel.force(true);
            return lock;   // the channel stays open (and referenced through the lock) for the JVM's life
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock the data directory " + root + ": " + e.getMessage(), e);
        }
    }
}
