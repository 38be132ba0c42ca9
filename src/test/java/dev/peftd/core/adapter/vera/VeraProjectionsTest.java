package dev.peftd.core.adapter.vera;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.Mt19937;
import dev.peftd.core.tensor.SafetensorsFile;
import java.net.URL;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** PEFT's {@code _kaiming_init} draws (tools/reference/make_adapter_fixtures.py) regenerated bit for bit. */
class VeraProjectionsTest {

    @Test
    void mt19937MatchesTheReferenceSequence() {
        // std::mt19937 default seed 5489: the 10000th output is 4123659995 (C++ standard, [rand.predef])
        Mt19937 rng = new Mt19937(5489);
        int v = 0;
        for (int i = 0; i < 10000; i++) {
            v = rng.nextInt();
        }
        assertThat(Integer.toUnsignedLong(v)).isEqualTo(4123659995L);
    }

    @Test
    void projectionsAreBitIdenticalToPeft() throws Exception {
        URL url = getClass().getClassLoader().getResource("fixtures/adapters/vera-projections.safetensors");
        long[][] cases = {{0, 8, 96, 96}, {1234, 16, 40, 24}, {(1L << 32) + 7, 4, 33, 17}};
        try (NDManager m = NDManager.newBaseManager(); SafetensorsFile f = SafetensorsFile.open(Path.of(url.toURI()))) {
            for (long[] c : cases) {
                VeraProjections p = VeraProjections.generate((int) c[1], (int) c[2], (int) c[3], c[0]);
                NDArray a = f.load(c[0] + ".vera_A", m);
                NDArray b = f.load(c[0] + ".vera_B", m);
                assertThat(p.a()).as("vera_A key %d", c[0]).containsExactly(a.toFloatArray());
                assertThat(p.b()).as("vera_B key %d", c[0]).containsExactly(b.toFloatArray());
            }
        }
    }
}
