package dev.peftd.kernel;

import java.nio.file.Path;

/** Another live process holds the data directory's lock: this one must not start on it. */
final class DataDirectoryInUseException extends RuntimeException {

    DataDirectoryInUseException(Path root, String holderPid) {
        super("another peftd process" + (holderPid.matches("[0-9]{1,10}") ? " (pid " + holderPid + ")" : "")
                + " holds the data directory " + root + "; only one process may use a data directory");
    }
}
