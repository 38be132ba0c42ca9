package dev.peftd.bench;

import dev.peftd.core.tensor.IntraOpThreads;

/** How many CPU threads libtorch computes with during a benchmark. */
public final class Threads {

    private Threads() {
    }

    /** Call before any model loads: libtorch fixes its inter-op pool on first use. */
    public static void limitTo(int threads) {
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        IntraOpThreads.configureProcess(threads);
    }
}
