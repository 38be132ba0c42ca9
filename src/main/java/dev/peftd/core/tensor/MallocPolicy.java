package dev.peftd.core.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Structure;
import java.util.Map;
import java.util.Optional;

/**
 * How glibc's malloc hands freed tensor memory back: peftd fixes its mmap threshold at {@value #PEFTD_THRESHOLD} bytes
 * ({@code mallopt(M_MMAP_THRESHOLD, …)}) unless the operator set {@code MALLOC_MMAP_THRESHOLD_} (or the
 * {@code glibc.malloc.mmap_threshold} tunable) themselves.
 *
 * <p>Why: libtorch's CPU tensors come from malloc. glibc maps an allocation above the threshold on its own and unmaps
 * it on free, but by default the threshold rises to the size of every mapped block freed (up to 32 MiB), so after a
 * model loads nearly every activation lives in the heap and the holes freed activations leave stay resident: the peak
 * RSS is the allocator's high-water mark, not the live tensors'. Setting the threshold also switches the rise off, so
 * every tensor above it goes back to the system when freed. Measured on the SmolLM2-135M shape, LoRA r 16, batch 2 ×
 * 128: see docs/djl-notes.md ("Memory"). The cost is a mapping and its page faults per large allocation.
 *
 * <p>glibc reads the threshold once, at its first allocation, from the environment; {@code mallopt} changes it at any
 * time, but only allocations made afterwards benefit, so {@link #returnFreedMemory()} runs first thing in
 * {@code main}. A no-op off glibc Linux (musl, macOS, Windows have no such knob).
 */
public final class MallocPolicy {

    static final String VARIABLE = "MALLOC_MMAP_THRESHOLD_";
    static final int PEFTD_THRESHOLD = 65536;
    /** A block just above {@link #PEFTD_THRESHOLD}: {@code doctor}'s probe. */
    public static final long PROBE_BYTES = PEFTD_THRESHOLD + PEFTD_THRESHOLD / 2;
    /** glibc's malloc.h: {@code #define M_MMAP_THRESHOLD -3}. */
    private static final int M_MMAP_THRESHOLD = -3;

    /** What start-up did, for {@code doctor}; empty until {@link #returnFreedMemory()} ran. */
    private static volatile String applied;

    private MallocPolicy() {
    }

    /** glibc's allocator controls (absent from other C libraries: loading them fails there). */
    interface Glibc extends Library {
        int mallopt(int param, int value);

        String gnu_get_libc_version();

        Mallinfo2.ByValue mallinfo2();
    }

    /** glibc 2.33+'s {@code struct mallinfo2}: every field a size_t. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost"})
    public static class Mallinfo2 extends Structure {
        public long arena;
        public long ordblks;
        public long smblks;
        /** Chunks that have their own mapping (served above the mmap threshold). */
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;

        /** Returned by value from {@code mallinfo2()}. */
        public static class ByValue extends Mallinfo2 implements Structure.ByValue {
        }
    }

    /** glibc, or empty on any other C library (or platform). */
    static Optional<Glibc> glibc() {
        if (!Platform.isLinux()) {
            return Optional.empty();
        }
        try {
            Glibc c = Native.load(Platform.C_LIBRARY_NAME, Glibc.class);
            c.gnu_get_libc_version(); // musl has no such symbol: UnsatisfiedLinkError
            return Optional.of(c);
        } catch (UnsatisfiedLinkError e) {
            return Optional.empty();
        }
    }

    /**
     * Fixes glibc's mmap threshold at {@value #PEFTD_THRESHOLD} bytes unless the operator chose one in the environment.
     */
    public static void returnFreedMemory() {
        applied = decide(System.getenv());
    }

    private static String decide(Map<String, String> env) {
        String own = env.get(VARIABLE);
        if (own != null && !own.isBlank()) {
            return "MALLOC_MMAP_THRESHOLD_=" + own + " (the operator's)";
        }
        String tunables = env.getOrDefault("GLIBC_TUNABLES", "");
        if (tunables.contains("glibc.malloc.mmap_threshold")) {
            return "GLIBC_TUNABLES " + tunables + " (the operator's)";
        }
        Optional<Glibc> c = glibc();
        if (c.isEmpty()) {
            return "the C library's default (not glibc: nothing set)";
        }
        if (c.get().mallopt(M_MMAP_THRESHOLD, PEFTD_THRESHOLD) != 1) {
            return "glibc's default (mallopt refused the threshold)";
        }
        return "mmap threshold " + PEFTD_THRESHOLD + " bytes, fixed (peftd's default: freed tensors go back to the"
                + " system; set MALLOC_MMAP_THRESHOLD_ to choose another)";
    }

    /** Above every threshold below, under glibc's 32 MiB cap on the rise: freeing it raises a dynamic threshold. */
    private static final long RAISING_BLOCK = 16L << 20;

    /**
     * Whether glibc serves a {@code bytes}-long allocation from a mapping of its own (returned to the system on free)
     * rather than from the heap, right after a 16 MiB block was freed (which raises glibc's default, dynamic threshold
     * to 16 MiB but not a fixed one): the policy in effect, observed. Empty off glibc, or on a glibc older than 2.33
     * (no {@code mallinfo2}).
     */
    public static Optional<Boolean> mapsOnItsOwn(long bytes) {
        return glibc().flatMap(c -> {
            try {
                Native.free(Native.malloc(RAISING_BLOCK)); // JNA's malloc and free are the C library's
                long before = c.mallinfo2().hblks;
                long block = Native.malloc(bytes);
                try {
                    return Optional.of(c.mallinfo2().hblks > before);
                } finally {
                    Native.free(block);
                }
            } catch (UnsatisfiedLinkError e) {
                return Optional.empty();
            }
        });
    }

    /** What start-up did, or that it did not run (a JVM that did not start in peftd's {@code main}). */
    public static String current() {
        String a = applied;
        return a != null ? a : "glibc's default (peftd's main did not run)";
    }
}
