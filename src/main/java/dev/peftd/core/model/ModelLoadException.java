package dev.peftd.core.model;

import java.io.IOException;
import java.nio.file.Path;

/** A model directory that cannot be loaded; the message names the file and the key or architecture at fault. */
public class ModelLoadException extends IOException {

    public ModelLoadException(Path file, String reason) {
        super(file + ": " + reason);
    }
}
