package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import dev.peftd.core.model.ModelLoadException;
import java.nio.file.Path;

/**
 * Why a registered model could not be made ready, as a client sees it: a stable code, a sentence, and where known the
 * file in the model folder and the key in it. Built from whatever the preparation threw, with every server-side path
 * taken out (a message of the runtime names files by their absolute path; the client named only its source).
 *
 * @param code  {@code invalid_model_files} (the files are there but wrong), {@code model_source_unavailable} (the
 *              source could not be read) or {@code model_load_failed} (anything else)
 * @param file  e.g. {@code config.json}, or {@code null}
 * @param field the key at fault in {@code file}, e.g. {@code rope_theta}, or the registration field
 *              ({@code dtype}) when {@code file} is {@code null}, or {@code null}
 */
@com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
record ModelFailure(String code, String message, String file, String field) {

    static final String INVALID_FILES = "invalid_model_files";
    static final String SOURCE_UNAVAILABLE = "model_source_unavailable";
    static final String LOAD_FAILED = "model_load_failed";

    /** A model file that is missing or wrong; thrown by the catalog's own checks. */
    static final class FileException extends java.io.IOException {
        final String file;
        final String field;

        FileException(String file, String field, String reason) {
            super(file + (field == null ? "" : ": " + field) + ": " + reason);
            this.file = file;
            this.field = field;
        }
    }

    /** The source (Hub, S3, a local folder) could not be read; the message is already fit for the client. */
    static final class SourceException extends java.io.IOException {
        SourceException(String message) {
            super(message);
        }
    }

    /** @param hidden server-side folders to take out of messages (the model folder, the data directory) */
    static ModelFailure of(Throwable e, Path... hidden) {
        if (e instanceof FileException f) {
            return new ModelFailure(INVALID_FILES, scrub(f.getMessage(), hidden), f.file, f.field);
        }
        if (e instanceof ModelLoadException m) {
            String message = m.fileName() + (m.field() == null ? "" : ": " + m.field()) + ": " + m.reason();
            return new ModelFailure(INVALID_FILES, scrub(message, hidden), m.fileName(), m.field());
        }
        if (e instanceof dev.peftd.core.tensor.TensorFileException) {
            return new ModelFailure(INVALID_FILES, scrub(e.getMessage(), hidden), null, null);
        }
        if (e instanceof SourceException || e instanceof Refusal) {
            return new ModelFailure(SOURCE_UNAVAILABLE, scrub(e.getMessage(), hidden), null, null);
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new ModelFailure(LOAD_FAILED, scrub(message, hidden), null, null);
    }

    /** Paths inside a hidden folder become relative to it; the folder itself is never named. */
    static String scrub(String message, Path... hidden) {
        String out = message;
        for (Path dir : hidden) {
            if (dir == null) {
                continue;
            }
            for (Path form : java.util.List.of(dir, dir.toAbsolutePath().normalize())) {
                out = out.replace(form + "/", "").replace(form.toString(), "<server folder>");
            }
        }
        return out;
    }
}
