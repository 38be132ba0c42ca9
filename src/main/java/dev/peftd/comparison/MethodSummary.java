package dev.peftd.comparison;

import java.util.List;

/**
 * One method's row of the report: its runs over the seeds, summarised. The spread is the sample standard deviation
 * over seeds (n − 1 in the denominator; 0 with one seed, which shows no spread rather than a made-up one).
 */
public record MethodSummary(String method, List<MethodRun> runs) {

    public MethodSummary {
        runs = List.copyOf(runs);
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("method " + method + ": no runs");
        }
    }

    public long trainableParams() {
        return runs.get(0).trainableParams();
    }

    public double trainableShare() {
        return runs.get(0).analysis().trainableShare();
    }

    public long adapterBytes() {
        return runs.get(0).adapterBytes();
    }

    public double evalLossMean() {
        return mean(runs.stream().mapToDouble(MethodRun::evalLoss).toArray());
    }

    public double evalLossStd() {
        return std(runs.stream().mapToDouble(MethodRun::evalLoss).toArray());
    }

    public double evalLossBeforeMean() {
        return mean(runs.stream().mapToDouble(MethodRun::evalLossBefore).toArray());
    }

    public double stepSecondsMean() {
        return mean(runs.stream().mapToDouble(MethodRun::stepSeconds).toArray());
    }

    /** The highest of the runs' peaks: what a machine must have to run this method. */
    public double peakRssMb() {
        return runs.stream().mapToDouble(MethodRun::peakRssMb).max().orElse(Double.NaN);
    }

    static double mean(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return v.length == 0 ? Double.NaN : sum / v.length;
    }

    static double std(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double m = mean(v);
        double ss = 0;
        for (double x : v) {
            ss += (x - m) * (x - m);
        }
        return Math.sqrt(ss / (v.length - 1));
    }

    /**
     * A peak memory for a table cell: the service records none per job (a worker runs several jobs in one process),
     * so its comparisons say so rather than print NaN.
     */
    static String memory(double peakRssMb) {
        return Double.isNaN(peakRssMb) ? "not measured" : String.format(java.util.Locale.ROOT, "%.0f MB", peakRssMb);
    }
}
