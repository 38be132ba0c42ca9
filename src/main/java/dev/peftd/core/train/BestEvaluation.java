package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.Adapter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The evaluation with the lowest validation loss so far, how many evaluations since have not beaten it (early
 * stopping counts these), and, when the run keeps the best, a copy of the adapter's state at that evaluation. A
 * loss must be strictly lower to count as an improvement, as the HF Trainer's early stopping (threshold 0).
 */
final class BestEvaluation implements AutoCloseable {

    private final NDManager manager;
    private final boolean keepState;
    private Evaluation best;
    private int bestStep;
    private int sinceBest;
    private Map<String, NDArray> state = Map.of();

    BestEvaluation(NDManager parent, boolean keepState) {
        this.manager = parent.newSubManager();
        this.keepState = keepState;
    }

    /** Weighs the evaluation after {@code step}; copies the adapter's state when it is the new best and kept. */
    void offer(int step, Evaluation evaluation, Adapter adapter) {
        if (best != null && !(evaluation.loss() < best.loss())) {
            sinceBest++;
            return;
        }
        best = evaluation;
        bestStep = step;
        sinceBest = 0;
        if (keepState) {
            replaceState(adapter.stateTensors());
        }
    }

    /** Restores what a checkpoint saved of this (see {@link #state()}). */
    void restore(Evaluation evaluation, int step, int evaluationsSinceBest, Map<String, NDArray> savedState) {
        best = evaluation;
        bestStep = step;
        sinceBest = evaluationsSinceBest;
        if (keepState && savedState != null) {
            replaceState(savedState);
        }
    }

    private void replaceState(Map<String, NDArray> live) {
        state.values().forEach(NDArray::close);
        Map<String, NDArray> copy = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray c = e.getValue().duplicate();   // duplicate, not toType: toType(same type) aliases (djl pitfall 3)
            c.attach(manager);
            copy.put(e.getKey(), c);
        }
        state = copy;
    }

    boolean exhausted(int patience) {
        return patience > 0 && best != null && sinceBest >= patience;
    }

    Evaluation best() {
        return best;
    }

    int bestStep() {
        return bestStep;
    }

    int sinceBest() {
        return sinceBest;
    }

    /** The kept adapter state of the best evaluation (empty when not kept or none yet). */
    Map<String, NDArray> state() {
        return state;
    }

    /** Puts the best evaluation's adapter state back into {@code adapter}; false when there is none to put back. */
    boolean restoreInto(Adapter adapter) {
        if (state.isEmpty()) {
            return false;
        }
        adapter.loadStateTensors(state);
        return true;
    }

    @Override
    public void close() {
        manager.close();
    }
}
