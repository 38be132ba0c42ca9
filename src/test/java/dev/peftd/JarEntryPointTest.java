package dev.peftd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PeftdApplication#main} in its own JVM, in an empty working directory: a misspelt command is a usage error
 * that leaves the directory empty (it used to start the service, which creates ./peftd-data), and --help exits 0.
 */
class JarEntryPointTest {

    private record Exit(int code, String out, String err) {
    }

    private static Exit main(Path workingDirectory, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), PeftdApplication.class.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).directory(workingDirectory.toFile())
                .redirectOutput(workingDirectory.resolveSibling("out.txt").toFile())
                .redirectError(workingDirectory.resolveSibling("err.txt").toFile()).start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("peftd " + String.join(" ", args) + " did not exit within 60 s (the service started?)");
        }
        return new Exit(process.exitValue(),
                Files.readString(workingDirectory.resolveSibling("out.txt"), StandardCharsets.UTF_8),
                Files.readString(workingDirectory.resolveSibling("err.txt"), StandardCharsets.UTF_8));
    }

    @Test
    void aMisspeltCommandExits2AndCreatesNothing(@TempDir Path tmp) throws Exception {
        Path cwd = Files.createDirectory(tmp.resolve("cwd"));

        Exit typo = main(cwd, "compre");

        assertThat(typo.code()).as(typo.err()).isEqualTo(2);
        assertThat(typo.err()).contains("unknown command 'compre'").contains("usage: java -jar peftd.jar");
        try (var entries = Files.list(cwd)) {
            assertThat(entries).as("nothing written to the working directory").isEmpty();
        }
    }

    @Test
    void helpOfACommandExits0(@TempDir Path tmp) throws Exception {
        Path cwd = Files.createDirectory(tmp.resolve("cwd"));

        Exit help = main(cwd, "train", "--help");

        assertThat(help.code()).as(help.err()).isZero();
        assertThat(help.out()).startsWith("usage: train");
    }
}
