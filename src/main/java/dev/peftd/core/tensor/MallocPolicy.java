package dev.peftd.core.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Structure;
import java.util.Map;
import java.util.Optional;

/**
 * How glibc's malloc hands freed tensor memory back, for {@code doctor}: peftd leaves glibc's default (a dynamic mmap
 * threshold) because a low fixed threshold costs step time; an operator who wants the lower peak sets
 * {@code MALLOC_MMAP_THRESHOLD_} (or the {@code glibc.malloc.mmap_threshold} tunable), which glibc reads itself.
 *
 * <p>Why it matters: libtorch's CPU tensors come from malloc. glibc maps an allocation above the threshold on its own
 * and unmaps it on free, but by default the threshold rises to the size of every mapped block freed (up to 32 MiB), so
 * after a model loads nearly every activation lives in the heap and the holes freed activations leave stay resident:
 * the peak RSS is the allocator's high-water mark, not the live tensors'. A fixed threshold (setting it switches the
 * rise off) returns every tensor above it when freed, at the price of a mapping and fresh zeroed pages per
 * allocation. Measured on the SmolLM2-135M shape: see docs/djl-notes.md ("Memory").
 */
public final class MallocPolicy {

    static final String VARIABLE = "MALLOC_MMAP_THRESHOLD_";
    /** The threshold measured (docs/djl-notes.md): tensors above it go back to the system when freed. */
    static final int LOW_THRESHOLD = 65536;
    /** A block just above {@link #LOW_THRESHOLD} and below glibc's starting threshold (128 KiB): doctor's probe. */
    public static final long PROBE_BYTES = LOW_THRESHOLD + LOW_THRESHOLD / 2;

    /** Above the probe, under glibc's 32 MiB cap on the rise: freeing it raises a dynamic threshold. */
    private static final long RAISING_BLOCK = 16L << 20;

    private MallocPolicy() {
    }

    /** glibc's allocator controls (absent from other C libraries: loading them fails there). */
    interface Glibc extends Library {
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

    /** The policy in effect: the operator's, or glibc's dynamic default. */
    public static String current() {
        return describe(System.getenv());
    }

    static String describe(Map<String, String> env) {
        String own = env.get(VARIABLE);
        if (own != null && !own.isBlank()) {
            return "MALLOC_MMAP_THRESHOLD_=" + own + " (the operator's, fixed)";
        }
        String tunables = env.getOrDefault("GLIBC_TUNABLES", "");
        if (tunables.contains("glibc.malloc.mmap_threshold")) {
            return "GLIBC_TUNABLES " + tunables + " (the operator's)";
        }
        if (glibc().isEmpty()) {
            return "the C library's default (not glibc)";
        }
        return "glibc's default, a dynamic mmap threshold (freed activations stay resident; MALLOC_MMAP_THRESHOLD_="
                + LOW_THRESHOLD + " lowers training's peak RSS at a cost in step time)";
    }

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
}
