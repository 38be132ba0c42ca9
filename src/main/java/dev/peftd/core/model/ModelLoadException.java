package dev.peftd.core.model;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A model directory that cannot be loaded; the message names the file and the key or architecture at fault. The
 * parts are kept apart as well, so that a service can report them without the directory (a server-side path).
 */
public class ModelLoadException extends IOException {

    private final Path file;
    private final String field;
    private final String reason;

    public ModelLoadException(Path file, String reason) {
        this(file, null, reason);
    }

    /** @param field the config.json key at fault ({@code rope_parameters.rope_theta}), or {@code null} */
    public ModelLoadException(Path file, String field, String reason) {
        super(file + ": " + (field == null ? "" : "key '" + field + "': ") + reason);
        this.file = file;
        this.field = field;
        this.reason = reason;
    }

    /** The file at fault by its name in the model directory ({@code config.json}). */
    public String fileName() {
        return file.getFileName() == null ? file.toString() : file.getFileName().toString();
    }

    /** The key at fault, or {@code null} when the whole file is. */
    public String field() {
        return field;
    }

    /** What is wrong, without the file or the key. */
    public String reason() {
        return reason;
    }
}
