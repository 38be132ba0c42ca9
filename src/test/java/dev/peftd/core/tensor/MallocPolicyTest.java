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
        return DoctorChild.run(List.of(MallocPolicy.VARIABLE, MallocPolicy.TUNABLES), env);
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

    @Test
    void glibcsSmallBlockCachesAreOnByDefault() throws Exception {
        assertThat(MallocPolicy.glibc()).as("glibc Linux only").isPresent();
        assertThat(doctorUnder(Map.of())).contains("malloc small-block caches: on (glibc's default");
    }

    @Test
    void theImagesTunablesTurnThemOff() throws Exception {
        String out = doctorUnder(Map.of(MallocPolicy.TUNABLES, MallocPolicy.SMALL_CACHES_OFF));
        assertThat(out).contains("malloc small-block caches: off (GLIBC_TUNABLES " + MallocPolicy.SMALL_CACHES_OFF);
        // an operator's other tunables beside them are fine; one of the two alone is not enough (measured)
        assertThat(MallocPolicy.describeSmallBlockCaches(Map.of(MallocPolicy.TUNABLES,
                "glibc.malloc.arena_max=2:" + MallocPolicy.SMALL_CACHES_OFF))).startsWith("off");
        assertThat(MallocPolicy.describeSmallBlockCaches(Map.of(MallocPolicy.TUNABLES,
                "glibc.malloc.tcache_count=0"))).startsWith("partly on");
        assertThat(MallocPolicy.describeSmallBlockCaches(Map.of(MallocPolicy.TUNABLES,
                "glibc.malloc.tcache_count=07:glibc.malloc.mxfast=0"))).startsWith("partly on");
    }

    /** The image is how the service ships: its JVM must start with the tunables (glibc reads them only at exec). */
    @Test
    void theImageStartsPeftdWithTheSmallBlockCachesOff() throws Exception {
        String dockerfile = java.nio.file.Files.readString(java.nio.file.Path.of("Dockerfile"));
        String cpuStage = dockerfile.substring(dockerfile.indexOf("AS cpu"), dockerfile.indexOf("ENTRYPOINT"));
        assertThat(cpuStage).contains(MallocPolicy.TUNABLES + "=" + MallocPolicy.SMALL_CACHES_OFF);
    }
}
