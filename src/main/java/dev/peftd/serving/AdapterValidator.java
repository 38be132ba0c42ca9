package dev.peftd.serving;

import dev.peftd.core.adapter.AdapterConfigException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Checks a PEFT adapter directory against the base model it claims, before it is stored: the config must parse,
 * its target modules must select layers of this model, every tensor must belong to a targeted module, and each
 * must have the shape the rank and the module's size demand (the importer checks these in that order and names
 * the first offending tensor); finally every factor must be finite. A passing adapter is exactly what serving will
 * load.
 */
public final class AdapterValidator {

    private AdapterValidator() {
    }

    /** What a valid adapter is. */
    public record Summary(String method, int rank, java.util.List<String> modules, long bytes) {
    }

    /** @throws AdapterMismatchException naming the first offending tensor or field */
    public static Summary validate(Path adapterDir, LoadedBase base) throws IOException {
        try (FactoredAdapter adapter = FactoredAdapter.load(adapterDir, base)) {
            adapter.firstNonFiniteModule().ifPresent(module -> {
                throw new AdapterMismatchException(module, module + ": the adapter's weights hold NaN or Inf", null);
            });
            return new Summary(adapter.method(), adapter.maxRank(), java.util.List.copyOf(adapter.modules()),
                    adapter.bytes());
        } catch (AdapterConfigException e) {
            String message = e.getMessage();
            int colon = message.indexOf(": ");
            String offending = colon < 0 ? message : message.substring(0, colon);
            throw new AdapterMismatchException(offending, "adapter does not fit base model "
                    + base.directory().getFileName() + ": " + message, e);
        }
    }
}
