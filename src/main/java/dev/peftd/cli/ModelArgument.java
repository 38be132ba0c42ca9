package dev.peftd.cli;

import dev.peftd.core.hub.HubClient;
import dev.peftd.core.hub.HubException;
import dev.peftd.core.hub.HubModelId;
import dev.peftd.core.hub.HubSettings;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.tokenizer.TokenizerException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The {@code --model} option of generate, score and bench: a local Hugging Face model directory, or
 * {@code hf://org/name[@revision]} downloaded into the Hub cache first. Every failure becomes a
 * {@link UsageException} naming the directory, file or key.
 */
final class ModelArgument {

    /** The option's line in a command's help. */
    static final String HELP =
            "  --model DIR|hf://org/name[@rev]  a Hugging Face model directory, or a Hub model (downloaded to the Hub cache)";

    /** The {@code --dtype} option's line in a command's help. */
    static final String DTYPE_HELP =
            "  --dtype D          the base weights' type: auto (default: the checkpoint's where this device computes it,\n"
            + "                     else float32), float32, bfloat16 or float16";

    private ModelArgument() {
    }

    /** {@code --dtype}, auto when absent. */
    static ModelDtype dtype(CliOptions o) throws UsageException {
        return dtype(o, ModelDtype.AUTO);
    }

    /** {@code --dtype}, {@code absent} when not given. */
    static ModelDtype dtype(CliOptions o, ModelDtype absent) throws UsageException {
        if (!o.has("dtype")) {
            return absent;
        }
        try {
            return ModelDtype.parse(o.required("dtype"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage(), e);
        }
    }

    static Path directory(String value) throws UsageException {
        if (HubModelId.isHubUri(value)) {
            try {
                return new HubClient(HubSettings.fromEnvironment()).snapshot(HubModelId.parse(value));
            } catch (IllegalArgumentException | HubException e) {
                throw new UsageException("--model " + value + ": " + e.getMessage(), e);
            }
        }
        Path dir = Path.of(value);
        if (!Files.isDirectory(dir)) {
            throw new UsageException("--model " + value + ": " + (Files.exists(dir) ? "not a directory"
                    : "directory does not exist (give a Hugging Face model directory or hf://org/name)"));
        }
        return dir;
    }

    static CausalLm load(Path dir) throws UsageException {
        return load(dir, ModelDtype.FLOAT32);
    }

    static CausalLm load(Path dir, ModelDtype dtype) throws UsageException {
        try {
            return ModelLoader.load(dir, dtype);
        } catch (IOException | RuntimeException e) {
            throw new UsageException("cannot load the model: " + e.getMessage(), e);
        }
    }

    /** The model's tokenizer, or {@code null} when the directory has no tokenizer.json and none is required. */
    static Tokenizer tokenizer(Path dir, boolean required) throws UsageException {
        if (!required && !Files.exists(dir.resolve("tokenizer.json"))) {
            return null;
        }
        try {
            return Tokenizer.load(dir);
        } catch (TokenizerException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    /** Parses {@code --input-ids 1,2,3}. */
    static long[] tokenIds(String option, String value, int vocabSize) throws UsageException {
        String[] parts = value.split(",");
        long[] ids = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Long.parseLong(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + option + ": '" + parts[i] + "' is not a token id (expected e.g. 1,2,3)");
            }
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new UsageException("--" + option + ": token id " + ids[i] + " is outside the vocabulary [0, "
                        + vocabSize + ")");
            }
        }
        return ids;
    }
}
