package dev.peftd.core.tensor;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * How many CPU threads libtorch computes one thread's operations with: each thread that runs forward passes says so
 * for itself, so a serving loop can compute a small step on one thread while a training worker keeps every core.
 *
 * <p>Why per thread: libtorch's {@code at::set_num_threads} sets the calling thread's OpenMP team size (libgomp's
 * {@code nthreads-var} is per thread) and MKL's per-thread count ({@code mkl_set_num_threads_local}). Measured here
 * (DJL 0.36, libtorch 2.7.1): after one thread set 1, its 768×768·768×2048 GEMM took 23.5 ms while another thread's
 * took 12.1 ms on 2 threads, before and after. The same call also stores the count that threads which have not run
 * an operation yet take up at their first (libtorch's lazy per-thread start); measured, a thread started after
 * another set 1 reported 1. So {@link #use} puts that stored count back to {@link #processDefault} right after,
 * from a thread of its own (whatever thread makes the call gets the count): threads that never call {@link #use}
 * keep computing as configured. A thread that starts its first operation in the microseconds between the two calls
 * takes the other count.
 *
 * <p>A thread's last setting is remembered here, so calling {@link #use} before every forward pass costs a
 * {@code ThreadLocal} read unless the count changes (the native call also clears oneDNN's primitive cache).
 */
public final class IntraOpThreads {

    private static volatile int processDefault;
    private static final ThreadLocal<Integer> CURRENT = new ThreadLocal<>();

    private IntraOpThreads() {
    }

    /**
     * libtorch's count as configured for the process ({@code ai.djl.pytorch.num_threads}, else its own default, the
     * physical cores), read once, at the first call, before this class sets any thread's: what a thread that wants
     * "all of them" uses.
     */
    public static int processDefault() {
        int value = processDefault;
        if (value == 0) {
            synchronized (IntraOpThreads.class) {
                if (processDefault == 0) {
                    Engine.getInstance(); // JniUtils needs the engine loaded
                    processDefault = Math.max(1, JniUtils.getNumThreads());
                }
                value = processDefault;
            }
        }
        return value;
    }

    /**
     * Sets the process's count ({@link #processDefault}) and the calling thread's: for a command that chooses its
     * threads before it loads anything (the benchmarks' {@code --threads}).
     */
    public static synchronized void configureProcess(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("intra-op threads must be at least 1, got " + threads);
        }
        Engine.getInstance(); // JniUtils needs the engine loaded
        JniUtils.getNumThreads(); // this thread's lazy start first, so it cannot overwrite the count set next
        JniUtils.setNumThreads(threads);
        processDefault = threads;
        CURRENT.set(threads);
    }

    /** Makes the calling thread's libtorch operations run on {@code threads} threads (no native call if it already does). */
    public static void use(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("intra-op threads must be at least 1, got " + threads);
        }
        processDefault(); // read before any thread changes what new threads start with
        Integer current = CURRENT.get();
        if (current == null) {
            // libtorch starts a thread's count lazily, at its first operation or query, from the stored count: that
            // start would overwrite what is set below (measured: a fresh thread that set 1 then read the restored 2)
            JniUtils.getNumThreads();
        }
        if (current == null || current != threads) {
            JniUtils.setNumThreads(threads);
            CURRENT.set(threads);
            if (threads != processDefault()) {
                restoreProcessDefault();
            }
        }
    }

    private static ExecutorService restorer;

    /** Stores {@link #processDefault} as the count threads start with again, from the restoring thread. */
    private static synchronized void restoreProcessDefault() {
        if (restorer == null) {
            restorer = Executors.newSingleThreadExecutor(runnable -> {
                Thread thread = new Thread(runnable, "peftd-intra-op-default");
                thread.setDaemon(true);
                return thread;
            });
        }
        try {
            restorer.submit(() -> JniUtils.setNumThreads(processDefault())).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not restore libtorch's default thread count", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The calling thread's count as libtorch reports it (libgomp's {@code omp_get_max_threads} for this thread). */
    public static int ofThisThread() {
        return JniUtils.getNumThreads();
    }
}
