package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What glibc does with a tensor-sized allocation in a peftd process: a child JVM runs {@code doctor}, which reports the
 * malloc policy and probes it: right after a 16 MiB block is freed (which raises glibc's default, dynamic threshold),
 * a block just above 64 KiB either gets its own mapping or comes from the heap, as glibc's {@code mallinfo2} counts.
 * glibc reads its environment once, so the check must be a fresh process.
 */
class MallocPolicyTest {

    private static String doctorUnder(Map<String, String> env) throws Exception {
        return DoctorChild.run(List.of(MallocPolicy.VARIABLE, "GLIBC_TUNABLES"), env);
    }

    private static final String PROBE = "after a 16 MiB block is freed, a " + (MallocPolicy.PROBE_BYTES >> 10)
            + " KiB block ";

    @Test
    void glibcsDynamicThresholdByDefault() throws Exception {
        assertThat(MallocPolicy.glibc()).as("glibc Linux only").isPresent();
        String out = doctorUnder(Map.of());
        assertThat(out).contains("malloc: glibc's default, a dynamic mmap threshold", PROBE + "comes from the heap");
    }

    @Test
    void anOperatorsLowThresholdReturnsFreedTensors() throws Exception {
        assertThat(MallocPolicy.glibc()).as("glibc Linux only").isPresent();
        String out = doctorUnder(Map.of(MallocPolicy.VARIABLE, String.valueOf(MallocPolicy.LOW_THRESHOLD)));
        assertThat(out).contains("malloc: MALLOC_MMAP_THRESHOLD_=65536 (the operator's, fixed)",
                PROBE + "gets its own mapping");
    }
}
