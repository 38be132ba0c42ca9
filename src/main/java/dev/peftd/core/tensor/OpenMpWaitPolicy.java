package dev.peftd.core.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.util.Optional;

/**
 * How libtorch's OpenMP threads (libgomp) wait between parallel regions: peftd makes them sleep ({@code PASSIVE})
 * unless the operator set {@code OMP_WAIT_POLICY} themselves.
 *
 * <p>Why: libgomp's default spins up to 300,000 iterations at every barrier. Once the process shares its cores (a
 * container on a busy node, several services, builds beside it), a spinning thread burns the time slice the thread
 * it waits for needs, and every small parallel region costs a scheduler quantum. Measured on this project's 2-core
 * machine at load average ~10 with 2 intra-op threads, a SmolLM2-135M decode step's linears (30 layers and the head,
 * one row): bfloat16 2,742 ms with the default, 72 ms passive; float32 189 ms → 92 ms; {@code doctor}'s bfloat16
 * one-row linear 0.44 → 3.96 GFLOP/s. Half kernels suffer most because libtorch's bf16/fp16 GEMV parallelises every
 * row count (grain 1), where float32's MKL GEMV stays on one thread for small shapes. On cores that are the
 * service's alone, spinning saves a futex wake-up per region (tens of microseconds): set {@code OMP_WAIT_POLICY=ACTIVE}.
 *
 * <p>libgomp reads its environment once, when libtorch loads: {@link #preferPassive()} must run before anything
 * touches DJL's engine, i.e. first thing in {@code main}. Java cannot change its own environment
 * ({@code System.getenv} is a copy taken at start-up), so this goes through the C library's {@code setenv}.
 */
public final class OpenMpWaitPolicy {

    static final String VARIABLE = "OMP_WAIT_POLICY";
    static final String PEFTD_DEFAULT = "PASSIVE";

    private OpenMpWaitPolicy() {
    }

    /** The C library's environment, which native code (libgomp) reads. */
    private interface CLibrary extends Library {
        int setenv(String name, String value, int overwrite);

        String getenv(String name);
    }

    private static CLibrary libc() {
        return Native.load(Platform.C_LIBRARY_NAME, CLibrary.class);
    }

    /**
     * Sets {@code OMP_WAIT_POLICY=PASSIVE} in the process environment unless it is set already (an operator's choice
     * wins). A no-op on Windows, whose libtorch uses no libgomp.
     */
    public static void preferPassive() {
        if (Platform.isWindows()) {
            return;
        }
        libc().setenv(VARIABLE, PEFTD_DEFAULT, 0); // overwrite = 0: an explicit setting stays
    }

    /**
     * The policy libgomp read (or will read), empty when none is set: for {@code doctor}, and for benchmark children
     * (Java starts a child with its start-up copy of the environment, which lacks what {@link #preferPassive} set),
     * so that a reference engine runs under the same policy as peftd.
     */
    public static Optional<String> current() {
        String value = Platform.isWindows() ? System.getenv(VARIABLE) : libc().getenv(VARIABLE);
        return Optional.ofNullable(value).filter(v -> !v.isBlank());
    }

    /** Gives a child process the policy in effect here, unless its environment names one already. */
    public static void passTo(ProcessBuilder child) {
        current().ifPresent(policy -> child.environment().putIfAbsent(VARIABLE, policy));
    }
}
