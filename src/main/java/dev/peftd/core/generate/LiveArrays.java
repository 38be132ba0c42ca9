package dev.peftd.core.generate;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;

/** Counts the NDArrays alive in this JVM (each holds native memory), to show that generation does not leak them. */
public final class LiveArrays {

    private LiveArrays() {
    }

    /** Every manager hangs below the engine's system manager, whose managed arrays include all of theirs. */
    public static int count() {
        try (NDManager probe = NDManager.newBaseManager()) {
            return probe.getParentManager() instanceof BaseNDManager system ? system.getManagedArrays().size() : -1;
        }
    }
}
