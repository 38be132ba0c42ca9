package dev.peftd.core.adapter.analysis;

import java.util.Arrays;

/**
 * Singular values of a matrix given as a product {@code L·R} ({@code L [m, k]}, {@code R [k, n]}, small k) without
 * forming it: Householder QR of {@code L} and of {@code Rᵀ} gives {@code L·R = Q1·(R1·R2ᵀ)·Q2ᵀ}, so the singular values
 * are those of the small core {@code R1·R2ᵀ}, found by one-sided Jacobi. Plain Java doubles: cost O((m+n)·k²).
 */
public final class LowRankSvd {

    private LowRankSvd() {
    }

    /**
     * @param left  row-major {@code [m, k]}
     * @param right row-major {@code [k, n]}
     * @return singular values in descending order, {@code min(m, n, k)} of them
     */
    public static double[] singularValues(double[] left, int m, int k, double[] right, int n) {
        double[] r1 = triangularFactor(left, m, k);            // [p1, k], p1 = min(m, k)
        double[] rightT = transpose(right, k, n);              // [n, k]
        double[] r2 = triangularFactor(rightT, n, k);          // [p2, k], p2 = min(n, k)
        int p1 = Math.min(m, k);
        int p2 = Math.min(n, k);
        double[] core = new double[p1 * p2];                   // R1·R2ᵀ, [p1, p2]
        for (int i = 0; i < p1; i++) {
            for (int j = 0; j < p2; j++) {
                double sum = 0;
                for (int t = 0; t < k; t++) {
                    sum += r1[i * k + t] * r2[j * k + t];
                }
                core[i * p2 + j] = sum;
            }
        }
        return jacobiSingularValues(core, p1, p2);
    }

    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }

    /** The R of a Householder QR of {@code a [rows, cols]}: row-major {@code [min(rows, cols), cols]}. */
    static double[] triangularFactor(double[] input, int rows, int cols) {
        double[] a = input.clone();
        int steps = Math.min(rows, cols);
        for (int j = 0; j < steps; j++) {
            double norm = 0;
            for (int i = j; i < rows; i++) {
                norm += a[i * cols + j] * a[i * cols + j];
            }
            norm = Math.sqrt(norm);
            if (norm == 0) {
                continue;
            }
            double alpha = a[j * cols + j] > 0 ? -norm : norm;
            double[] v = new double[rows - j];
            for (int i = j; i < rows; i++) {
                v[i - j] = a[i * cols + j];
            }
            v[0] -= alpha;
            double vNorm2 = 0;
            for (double x : v) {
                vNorm2 += x * x;
            }
            if (vNorm2 == 0) {
                continue;
            }
            for (int c = j; c < cols; c++) {   // a ← (I − 2vvᵀ/vᵀv)·a on the trailing block
                double dot = 0;
                for (int i = j; i < rows; i++) {
                    dot += v[i - j] * a[i * cols + c];
                }
                double f = 2 * dot / vNorm2;
                for (int i = j; i < rows; i++) {
                    a[i * cols + c] -= f * v[i - j];
                }
            }
        }
        return Arrays.copyOf(a, steps * cols);
    }

    /** One-sided Jacobi (Hestenes): rotate column pairs until orthogonal; the column norms are the singular values. */
    static double[] jacobiSingularValues(double[] input, int rows, int cols) {
        double[] g = input.clone();
        for (int sweep = 0; sweep < 60; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < cols - 1; p++) {
                for (int q = p + 1; q < cols; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int i = 0; i < rows; i++) {
                        double x = g[i * cols + p];
                        double y = g[i * cols + q];
                        alpha += x * x;
                        beta += y * y;
                        gamma += x * y;
                    }
                    if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma == 0) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta == 0 ? 1 : zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    for (int i = 0; i < rows; i++) {
                        double x = g[i * cols + p];
                        double y = g[i * cols + q];
                        g[i * cols + p] = c * x - s * y;
                        g[i * cols + q] = s * x + c * y;
                    }
                }
            }
            if (!rotated) {
                break;
            }
        }
        int count = Math.min(rows, cols);
        double[] norms = new double[cols];
        for (int j = 0; j < cols; j++) {
            double sum = 0;
            for (int i = 0; i < rows; i++) {
                sum += g[i * cols + j] * g[i * cols + j];
            }
            norms[j] = Math.sqrt(sum);
        }
        Arrays.sort(norms);
        double[] desc = new double[count];
        for (int i = 0; i < count; i++) {
            desc[i] = norms[cols - 1 - i];
        }
        return desc;
    }
}
