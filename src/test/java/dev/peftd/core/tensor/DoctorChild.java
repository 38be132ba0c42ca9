package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.PeftdApplication;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code doctor} in a fresh JVM started through peftd's {@code main}: what native libraries read from the environment
 * once per process (libgomp, glibc's malloc) can only be observed there.
 */
final class DoctorChild {

    private DoctorChild() {
    }

    /** doctor's output (float32, short timings), {@code unset} removed from the environment and {@code env} added. */
    static String run(List<String> unset, Map<String, String> env) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xmx256m", "-cp",
                System.getProperty("java.class.path"), PeftdApplication.class.getName(),
                "doctor", "--dtype", "float32", "--seconds", "0.02").redirectErrorStream(true);
        unset.forEach(builder.environment()::remove);
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("doctor did not finish").isTrue();
        assertThat(process.exitValue()).as(out).isZero();
        return out;
    }
}
