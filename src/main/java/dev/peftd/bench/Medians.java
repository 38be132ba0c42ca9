package dev.peftd.bench;

import java.util.Arrays;

/** Medians of repeated measurements: steadier than means on a shared machine, where one slow run is common. */
final class Medians {

    private Medians() {
    }

    static double of(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
