package dev.peftd.core.adapter.analysis;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.LowRank;
import dev.peftd.core.adapter.deltalora.DeltaLoraAdapter;
import java.util.ArrayList;
import java.util.List;

/** Computes an {@link AdapterAnalysis} from an adapter's factored ΔW (its single source of truth). */
public final class AdapterAnalyzer {

    /** Relative threshold of {@link ModuleChange#numericalRank()}: fp32 factors leave noise near 1e-7·σ₁. */
    public static final double RANK_TOLERANCE = 1e-5;

    private AdapterAnalyzer() {
    }

    /**
     * @param modelParams parameter count of the base model (every tensor of the checkpoint), for the share
     */
    public static AdapterAnalysis analyze(AbstractAdapter adapter, long modelParams) {
        if (adapter.isMerged()) {
            throw new IllegalStateException("analyze an unmerged adapter: merged base weights are no longer W0");
        }
        List<ModuleChange> changes = new ArrayList<>();
        for (String module : adapter.modules()) {
            double[] sv;
            try (LowRank f = adapter.deltaFactors(module)) {
                sv = singularValues(f);
            }
            Double moved = null;
            if (adapter instanceof DeltaLoraAdapter delta) {
                try (LowRank shift = delta.baseWeightShift(module)) {
                    moved = frobenius(singularValues(shift));
                }
            }
            double baseNorm = adapter.baseLinear(module).weightFrobeniusNorm();
            changes.add(new ModuleChange(module, frobenius(sv), baseNorm, sv, effectiveRank(sv), numericalRank(sv),
                    moved));
        }
        return new AdapterAnalysis(adapter.method().id(), adapter.trainableParameterCount(), modelParams, changes);
    }

    static double[] singularValues(LowRank f) {
        long[] ls = f.left().getShape().getShape();
        long[] rs = f.right().getShape().getShape();
        return LowRankSvd.singularValues(toDoubles(f.left()), (int) ls[0], (int) ls[1], toDoubles(f.right()),
                (int) rs[1]);
    }

    static double[] toDoubles(NDArray a) {
        float[] f = a.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    static double frobenius(double[] sv) {
        double sum = 0;
        for (double s : sv) {
            sum += s * s;
        }
        return Math.sqrt(sum);
    }

    /** exp of the Shannon entropy of the normalised singular values; 0 when all are 0. */
    static double effectiveRank(double[] sv) {
        double total = 0;
        for (double s : sv) {
            total += s;
        }
        if (total == 0) {
            return 0;
        }
        double h = 0;
        for (double s : sv) {
            if (s > 0) {
                double p = s / total;
                h -= p * Math.log(p);
            }
        }
        return Math.exp(h);
    }

    static int numericalRank(double[] sv) {
        if (sv.length == 0 || sv[0] == 0) {
            return 0;
        }
        int n = 0;
        for (double s : sv) {
            if (s > RANK_TOLERANCE * sv[0]) {
                n++;
            }
        }
        return n;
    }
}
