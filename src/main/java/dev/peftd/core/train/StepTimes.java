package dev.peftd.core.train;

import java.util.List;

/** What a run's step times say: the median after the first step, which pays warm-up (allocations, JIT). */
public final class StepTimes {

    private StepTimes() {
    }

    /** Median of {@code millis} without its first element, or NaN before two steps. */
    public static double medianAfterFirst(List<Double> millis) {
        if (millis.size() < 2) {
            return Double.NaN;
        }
        double[] v = millis.subList(1, millis.size()).stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
