package dev.peftd.core.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Structure;
import java.util.Map;
import java.util.Optional;

/**
 * How glibc's malloc hands freed tensor memory back, for {@code doctor}. Two controls, both read by glibc from the
 * environment at start-up: peftd's image turns glibc's small-block caches off ({@link #SMALL_CACHES_OFF}: freed
 * activations' holes get reused, at no measured cost), and leaves its mmap threshold dynamic, because a low fixed
 * threshold costs step time; an operator who wants that lower peak too sets {@code MALLOC_MMAP_THRESHOLD_} (or the
 * {@code glibc.malloc.mmap_threshold} tunable).
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
    public static final String TUNABLES = "GLIBC_TUNABLES";
    /**
     * The glibc tunables peftd's image runs with (Dockerfile {@code ENV}): no per-thread cache and no fast bins for
     * small blocks, so that a small block freed goes straight back into the free block around it. Why: libtorch makes
     * small native objects (tensor handles, autograd nodes) between its activations; one carved out of a freed
     * activation's hole and then parked in glibc's tcache or a fast bin (which count as in use) keeps the hole split,
     * and since libtorch asks for every tensor 64-byte aligned (a little more than the tensor), a hole of exactly a
     * tensor's size is then never reused by the next tensor of that size. On the SmolLM2-135M shape in bf16 the
     * forward pass left ~6 MB of such holes per layer, ~200 MB resident at the step's peak (docs/djl-notes.md,
     * "Memory"). glibc reads the tunables once, at start-up: they cannot be set from inside the JVM (mallopt has no
     * tcache control).
     */
    public static final String SMALL_CACHES_OFF = "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0";
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
            return VARIABLE + "=" + own + " (the operator's, fixed)";
        }
        String tunables = env.getOrDefault(TUNABLES, "");
        if (tunables.contains("glibc.malloc.mmap_threshold")) {
            return TUNABLES + " " + tunables + " (the operator's)";
        }
        if (glibc().isEmpty()) {
            return "the C library's default (not glibc)";
        }
        return "glibc's default, a dynamic mmap threshold (freed activations stay resident; MALLOC_MMAP_THRESHOLD_="
                + LOW_THRESHOLD + " lowers training's peak RSS at a cost in step time)";
    }

    /** Whether glibc's small-block caches are off in this process (set through {@link #TUNABLES} at start-up). */
    public static String smallBlockCaches() {
        return describeSmallBlockCaches(System.getenv());
    }

    static String describeSmallBlockCaches(Map<String, String> env) {
        String tunables = env.getOrDefault(TUNABLES, "");
        boolean tcacheOff = tunables.matches("(.*:)?glibc\\.malloc\\.tcache_count=0(:.*)?");
        boolean fastBinsOff = tunables.matches("(.*:)?glibc\\.malloc\\.mxfast=0(:.*)?");
        if (tcacheOff && fastBinsOff) {
            return "off (" + TUNABLES + " " + tunables + "): freed small blocks rejoin the holes around them";
        }
        if (glibc().isEmpty()) {
            return "the C library's default (not glibc)";
        }
        return (tcacheOff || fastBinsOff ? "partly on" : "on") + " (glibc's default: freed activations' holes stay split"
                + " and resident; peftd's image sets " + TUNABLES + "=" + SMALL_CACHES_OFF + ")";
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
