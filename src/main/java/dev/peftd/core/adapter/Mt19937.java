package dev.peftd.core.adapter;

/**
 * The 32-bit Mersenne Twister exactly as {@code std::mt19937} / torch's CPU generator: {@code torch.manual_seed(k)}
 * seeds it with {@code init_genrand(k & 0xFFFFFFFF)} and every float draw consumes one 32-bit output.
 */
public final class Mt19937 {
    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908b0df;
    private static final int UPPER_MASK = 0x80000000;
    private static final int LOWER_MASK = 0x7fffffff;

    private final int[] mt = new int[N];
    private int index;

    public Mt19937(long seed) {
        mt[0] = (int) seed; // keys ≥ 2^32 are truncated, as torch does
        for (int i = 1; i < N; i++) {
            mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        }
        index = N;
    }

    /** The next 32-bit output, as an unsigned value in an int. */
    public int nextInt() {
        if (index >= N) {
            twist();
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (mt[i] & UPPER_MASK) | (mt[(i + 1) % N] & LOWER_MASK);
            int next = mt[(i + M) % N] ^ (y >>> 1);
            mt[i] = (y & 1) != 0 ? next ^ MATRIX_A : next;
        }
        index = 0;
    }

    /**
     * {@code n} float32 draws from U(lo, hi) bit-identical to torch's CPU {@code tensor.uniform_(lo, hi, generator=g)}:
     * 24 random bits scaled by 2⁻²⁴, then one fused multiply-add {@code x·(hi−lo)+lo} rounded once to float32.
     */
    public float[] uniform(int n, double lo, double hi) {
        float from = (float) lo;
        float span = (float) hi - from;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float x = (nextInt() & 0xFFFFFF) * 0x1p-24f;
            out[i] = Math.fma(x, span, from);
        }
        return out;
    }
}
