package dev.peftd.core.tensor;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file or checkpoint that cannot be read as asked; the message names the file and, where known, the key. */
public class TensorFileException extends IOException {

    private final String problem;
    private final Path file;

    public TensorFileException(Path file, String reason) {
        this(file, reason, (Throwable) null);
    }

    public TensorFileException(Path file, String key, String reason) {
        this(file, "tensor '" + key + "': " + reason, (Throwable) null);
    }

    public TensorFileException(Path file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
        this.problem = reason;
    }

    /** The message with the file's name instead of its path, for a client who never saw the server's folders. */
    public String withFileNameOnly() {
        Path name = file == null ? null : file.getFileName();
        return (name == null ? "" : name + ": ") + problem;
    }
}
