package dev.peftd.core.adapter.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LowRankSvdTest {

    /** Columns of a random m×k matrix made orthonormal (Gram-Schmidt), row-major. */
    static double[] orthonormalColumns(int m, int k, Random rnd) {
        double[] q = new double[m * k];
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < m; i++) {
                q[i * k + j] = rnd.nextGaussian();
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < j; p++) {
                    double dot = 0;
                    for (int i = 0; i < m; i++) {
                        dot += q[i * k + j] * q[i * k + p];
                    }
                    for (int i = 0; i < m; i++) {
                        q[i * k + j] -= dot * q[i * k + p];
                    }
                }
            }
            double norm = 0;
            for (int i = 0; i < m; i++) {
                norm += q[i * k + j] * q[i * k + j];
            }
            for (int i = 0; i < m; i++) {
                q[i * k + j] /= Math.sqrt(norm);
            }
        }
        return q;
    }

    @Test
    void recoversKnownSingularValuesOfAFactoredMatrix() {
        Random rnd = new Random(3);
        int m = 40;
        int n = 25;
        int k = 5;
        double[] sigma = {7.5, 3.0, 1.0, 0.25, 0.0};
        double[] u = orthonormalColumns(m, k, rnd);       // [m, k]
        double[] v = orthonormalColumns(n, k, rnd);       // [n, k]
        double[] left = new double[m * k];                // U·diag(σ)
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                left[i * k + j] = u[i * k + j] * sigma[j];
            }
        }
        double[] right = LowRankSvd.transpose(v, n, k);   // Vᵀ, [k, n]
        double[] sv = LowRankSvd.singularValues(left, m, k, right, n);
        assertThat(sv).hasSize(5);
        for (int i = 0; i < 5; i++) {
            assertThat(sv[i]).isCloseTo(sigma[i], within(1e-12));
        }
        assertThat(AdapterAnalyzer.numericalRank(sv)).isEqualTo(4);
        assertThat(AdapterAnalyzer.effectiveRank(new double[] {1, 1, 1, 0})).isCloseTo(3.0, within(1e-12));
        assertThat(AdapterAnalyzer.effectiveRank(new double[] {0, 0})).isZero();
    }

    @Test
    void handlesFactorsWiderThanTheMatrix() {
        Random rnd = new Random(4);
        int m = 3;
        int n = 4;
        int k = 6; // e.g. rank-2r Delta-LoRA on a tiny layer
        double[] left = new double[m * k];
        double[] right = new double[k * n];
        for (int i = 0; i < left.length; i++) {
            left[i] = rnd.nextGaussian();
        }
        for (int i = 0; i < right.length; i++) {
            right[i] = rnd.nextGaussian();
        }
        double fro = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    s += left[i * k + t] * right[t * n + j];
                }
                fro += s * s;
            }
        }
        double[] sv = LowRankSvd.singularValues(left, m, k, right, n);
        assertThat(sv).hasSize(3);
        assertThat(AdapterAnalyzer.frobenius(sv)).isCloseTo(Math.sqrt(fro), within(1e-10));
    }
}
