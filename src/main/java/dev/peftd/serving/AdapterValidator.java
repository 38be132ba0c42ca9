package dev.peftd.serving;

import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.adapter.RegexBudgetException;
import dev.peftd.core.adapter.peft.PeftConfigJson;
import dev.peftd.core.tensor.TensorFileException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Checks a PEFT adapter directory against the base model it claims, before it is stored. Two kinds of refusal:
 * files that cannot be an adapter at all ({@link InvalidRequestException} on {@code file}, the message naming the
 * file and the field or tensor: a config that is not JSON or lacks a field, a safetensors file that is truncated or
 * has a broken header or an integer tensor, a pattern regex over its step budget), and an adapter that does not fit
 * this base ({@link AdapterMismatchException}): its target modules must select layers of this model, every tensor
 * must belong to a targeted module, and each must have the shape the rank and the module's size demand (the
 * importer checks these in that order and names the first offending tensor); finally every factor must be finite.
 * A passing adapter is exactly what serving will load.
 */
public final class AdapterValidator {

    private AdapterValidator() {
    }

    /** What a valid adapter is. */
    public record Summary(String method, int rank, java.util.List<String> modules, long bytes) {
    }

    /**
     * @throws InvalidRequestException  on {@code file} when the files are corrupt or the config unusable
     * @throws AdapterMismatchException naming the first offending tensor or field when it does not fit {@code base}
     * @throws UncheckedIOException     when the (already unpacked) files cannot be read
     */
    public static Summary validate(Path adapterDir, LoadedBase base) {
        return validate(adapterDir, base, base.directory().getFileName().toString());
    }

    /** As {@link #validate(Path, LoadedBase)}, naming the base model {@code baseModel} (the client's name for it). */
    public static Summary validate(Path adapterDir, LoadedBase base, String baseModel) {
        try {
            requireUsableConfig(adapterDir); // its own faults first, so that they are not reported as a misfit
            return fit(adapterDir, base, baseModel);
        } catch (TensorFileException e) {
            throw new InvalidRequestException("file", e.withFileNameOnly());
        } catch (NoSuchFileException e) {
            throw new InvalidRequestException("file", Path.of(e.getFile()).getFileName() + ": " + e.getReason());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void requireUsableConfig(Path adapterDir) throws IOException {
        try {
            PeftConfigJson.read(adapterDir);
        } catch (AdapterConfigException e) {
            throw new InvalidRequestException("file", e.getMessage());
        }
    }

    private static Summary fit(Path adapterDir, LoadedBase base, String baseModel) throws IOException {
        try (FactoredAdapter adapter = FactoredAdapter.load(adapterDir, base)) {
            adapter.firstNonFiniteModule().ifPresent(module -> {
                throw new AdapterMismatchException(module, baseModel, module + ": the adapter's weights hold NaN or Inf",
                        null);
            });
            return new Summary(adapter.method(), adapter.maxRank(), java.util.List.copyOf(adapter.modules()),
                    adapter.factorBytes());
        } catch (RegexBudgetException e) {
            throw new InvalidRequestException("file", PeftConfigJson.FILE + " " + e.getMessage());
        } catch (AdapterConfigException e) {
            String message = e.getMessage();
            int colon = message.indexOf(": ");
            String offending = colon < 0 ? message : message.substring(0, colon);
            throw new AdapterMismatchException(offending, baseModel, "adapter does not fit base model '" + baseModel
                    + "': " + message, e);
        }
    }
}
