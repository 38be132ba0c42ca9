package dev.peftd.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.kernel.Refusal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file:// rule in its three configurations; the API tests cover the two-tenant context with roots. */
class LocalModelFoldersTest {

    @TempDir
    Path temp;

    @Test
    void severalTenantsWithoutRootsTurnFileSourcesOff() throws IOException {
        Path model = Files.createDirectories(temp.resolve("models/tiny"));
        LocalModelFolders folders = new LocalModelFolders(temp.resolve("data"), List.of(), true);
        assertThatThrownBy(() -> folders.check(model)).isInstanceOfSatisfying(Refusal.class, e -> {
            assertThat(e.errors().get(0).field()).isEqualTo("source");
            assertThat(e.getMessage()).contains("file:// sources are turned off").contains("PEFTD_MODEL_ROOTS");
        });
    }

    @Test
    void severalTenantsReadOnlyUnderTheRoots() throws IOException {
        Path model = Files.createDirectories(temp.resolve("models/tiny"));
        Path elsewhere = Files.createDirectories(temp.resolve("elsewhere/tiny"));
        LocalModelFolders folders = new LocalModelFolders(temp.resolve("data"), List.of(temp.resolve("models")), true);
        assertThat(folders.check(model)).isEqualTo(model.toRealPath());
        assertThatThrownBy(() -> folders.check(elsewhere)).hasMessageContaining(LocalModelFolders.REFUSED);
    }

    @Test
    void oneTenantReadsAnyFolderButTheDataDir() throws IOException {
        Path data = Files.createDirectories(temp.resolve("data"));
        Path inside = Files.createDirectories(data.resolve("serving/merged/alpha/x"));
        Path model = Files.createDirectories(temp.resolve("anywhere/tiny"));
        LocalModelFolders folders = new LocalModelFolders(data, List.of(), false);
        assertThat(folders.check(model)).isEqualTo(model.toRealPath());
        Refusal refused = (Refusal) catchProblem(() -> folders.check(inside));
        Refusal missing = (Refusal) catchProblem(() -> folders.check(temp.resolve("missing")));
        assertThat(refused.getMessage()).isEqualTo(missing.getMessage()).contains(LocalModelFolders.REFUSED)
                .doesNotContain(temp.toString());
        // a data dir named through a symbolic link is the same data dir
        Path dataLink = Files.createSymbolicLink(temp.resolve("data-link"), data);
        LocalModelFolders viaLink = new LocalModelFolders(dataLink, List.of(), false);
        assertThatThrownBy(() -> viaLink.check(inside)).hasMessageContaining(LocalModelFolders.REFUSED);
    }

    private static Throwable catchProblem(Runnable call) {
        try {
            call.run();
        } catch (Refusal e) {
            return e;
        }
        throw new AssertionError("expected a refusal");
    }
}
