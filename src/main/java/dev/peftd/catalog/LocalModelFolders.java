package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Which local folders a {@code file://} model source may read. Never the service's data directory, where every
 * tenant's artifacts live (objects, merged models, downloads, work folders), nor anything that reaches it through a
 * symbolic link: real paths are compared, of the folder and of every file in it. With several tenants only the
 * operator's model roots ({@code PEFTD_MODEL_ROOTS}) are readable, and without roots {@code file://} is off; a
 * single-tenant service reads any other folder, so the quick start can register a model from disk.
 *
 * <p>Every refusal of a folder reads the same whether it is missing, not a folder, outside the roots or inside the
 * data directory, so the error tells a caller nothing about which server paths exist.
 */
final class LocalModelFolders {

    static final String REFUSED = "no model folder this service may read at this path";

    private final Path dataDirectory;
    private final List<Path> roots;
    private final boolean multiTenant;

    /** @param roots the folders a file:// source must lie in; empty means any folder in single-tenant mode */
    LocalModelFolders(Path dataDirectory, List<Path> roots, boolean multiTenant) {
        this.dataDirectory = realOrNormal(dataDirectory);
        this.roots = roots.stream().map(LocalModelFolders::realOrNormal).toList();
        this.multiTenant = multiTenant;
    }

    /** @param roots comma-separated, as {@code PEFTD_MODEL_ROOTS} holds them */
    static List<Path> parseRoots(String roots) {
        return Arrays.stream(roots.split(",")).map(String::trim).filter(r -> !r.isEmpty()).map(Path::of).toList();
    }

    /**
     * @return the real path of {@code requested}, to read the model from (not the name it was asked by, which a
     *         symbolic link swapped later could point elsewhere)
     * @throws Refusal a 400 about {@code source}
     */
    Path check(Path requested) {
        if (multiTenant && roots.isEmpty()) {
            throw Refusal.invalidField("source", "file:// sources are turned off: this service has several tenants "
                    + "and no model roots (PEFTD_MODEL_ROOTS) are configured; use hf:// or s3://");
        }
        Path real;
        try {
            real = requested.toRealPath();
        } catch (IOException e) {
            throw refused();
        }
        if (!Files.isDirectory(real) || !allowed(real)) {
            throw refused();
        }
        try (Stream<Path> files = Files.list(real)) {
            for (Path file : files.toList()) {
                if (!allowed(file.toRealPath())) {
                    throw refused();
                }
            }
        } catch (IOException e) {
            throw refused();
        }
        return real;
    }

    private boolean allowed(Path real) {
        if (real.startsWith(dataDirectory) || dataDirectory.startsWith(real)) {
            return false;
        }
        return roots.isEmpty() || roots.stream().anyMatch(real::startsWith);
    }

    private Refusal refused() {
        return Refusal.invalidField("source", REFUSED + " (file:// needs an existing folder "
                + (roots.isEmpty() ? "" : "under the model roots (PEFTD_MODEL_ROOTS), ")
                + "outside the service's data directory)");
    }

    private static Path realOrNormal(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        try {
            return absolute.toRealPath();
        } catch (IOException e) {
            return absolute;
        }
    }
}
