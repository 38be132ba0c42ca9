package dev.peftd.core.tensor;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file or checkpoint that cannot be read as asked; the message names the file and, where known, the key. */
public class TensorFileException extends IOException {

    public TensorFileException(Path file, String reason) {
        super(file + ": " + reason);
    }

    public TensorFileException(Path file, String key, String reason) {
        super(file + ": tensor '" + key + "': " + reason);
    }

    public TensorFileException(Path file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
    }
}
