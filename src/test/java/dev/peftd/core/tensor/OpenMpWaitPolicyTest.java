package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What libgomp itself read when peftd's {@code main} loaded libtorch: a child JVM runs {@code doctor} with
 * {@code OMP_DISPLAY_ENV=VERBOSE}, which makes libgomp print its settings as it loads. {@code GOMP_SPINCOUNT} tells
 * the policies apart (libgomp prints {@code OMP_WAIT_POLICY = 'PASSIVE'} for an unset policy too, but spins 300,000
 * times then). This test JVM's own libgomp loaded long ago, so the check must be a fresh process.
 */
class OpenMpWaitPolicyTest {

    private static String doctorUnder(Map<String, String> env) throws Exception {
        Map<String, String> verbose = new HashMap<>(env);
        verbose.putIfAbsent("OMP_DISPLAY_ENV", "VERBOSE");
        return DoctorChild.run(List.of(OpenMpWaitPolicy.VARIABLE), verbose);
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
