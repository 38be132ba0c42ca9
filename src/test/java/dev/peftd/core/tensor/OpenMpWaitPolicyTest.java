package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.PeftdApplication;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What libgomp itself read when peftd's {@code main} loaded libtorch: a child JVM runs {@code doctor} with
 * {@code OMP_DISPLAY_ENV=VERBOSE}, which makes libgomp print its settings as it loads. {@code GOMP_SPINCOUNT} tells
 * the policies apart (libgomp prints {@code OMP_WAIT_POLICY = 'PASSIVE'} for an unset policy too, but spins 300,000
 * times then). This test JVM's own libgomp loaded long ago, so the check must be a fresh process.
 */
class OpenMpWaitPolicyTest {

    private static String doctorUnder(Map<String, String> env) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xmx256m", "-cp",
                System.getProperty("java.class.path"), PeftdApplication.class.getName(),
                "doctor", "--dtype", "float32", "--seconds", "0.02").redirectErrorStream(true);
        builder.environment().remove(OpenMpWaitPolicy.VARIABLE);
        builder.environment().put("OMP_DISPLAY_ENV", "VERBOSE");
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("doctor did not finish").isTrue();
        assertThat(process.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void libtorchsThreadsWaitPassivelyByDefault() throws Exception {
        String out = doctorUnder(Map.of());
        assertThat(out).contains("OMP_WAIT_POLICY = 'PASSIVE'", "GOMP_SPINCOUNT = '0'",
                "OpenMP wait policy: PASSIVE");
    }

    @Test
    void anOperatorsPolicyWins() throws Exception {
        String out = doctorUnder(Map.of(OpenMpWaitPolicy.VARIABLE, "ACTIVE"));
        assertThat(out).contains("OMP_WAIT_POLICY = 'ACTIVE'", "OpenMP wait policy: ACTIVE")
                .doesNotContain("GOMP_SPINCOUNT = '0'");
    }
}
