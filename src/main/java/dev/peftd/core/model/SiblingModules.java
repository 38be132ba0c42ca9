package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Modules a model calls one after another on the same input array (a Llama block's q/k/v projections, its gate/up
 * projections), learned by watching the hook calls of one whole forward pass: the learning ends when a module is
 * called a second time. Their adapter deltas can then be computed together ({@link SiblingFactors}). Shared by the
 * hooks of one batching loop, whose forward passes run one at a time.
 */
final class SiblingModules {

    private final Map<String, List<String>> runs = new ConcurrentHashMap<>(); // first module -> the run, in call order
    private final Set<String> seen = new HashSet<>();
    private volatile boolean learned;
    private NDArray runInput;
    private List<String> run = new ArrayList<>();

    /** One hook call, while learning. */
    synchronized void observe(String module, NDArray input) {
        if (learned) {
            return;
        }
        if (!seen.add(module)) {
            endRun();
            learned = true;
            return;
        }
        if (input != runInput) {
            endRun();
            runInput = input;
        }
        run.add(module);
    }

    private void endRun() {
        if (run.size() > 1) {
            runs.put(run.get(0), List.copyOf(run));
        }
        run = new ArrayList<>();
        runInput = null;
    }

    /** The modules called on the same input as {@code module} right after it (itself first), once learned; else null. */
    List<String> ledBy(String module) {
        return learned ? runs.get(module) : null;
    }
}
