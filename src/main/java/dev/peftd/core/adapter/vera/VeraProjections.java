package dev.peftd.core.adapter.vera;

import dev.peftd.core.adapter.Mt19937;

/**
 * The shared frozen VeRA pair exactly as PEFT 0.21 draws it ({@code VeraModel._init_vera_A_vera_B}): one torch CPU
 * generator seeded with {@code projection_prng_key}; {@code vera_A [r, max_in]} first, then {@code vera_B [max_out, r]}
 * from the same stream, each {@code U(−√(6/fan_in), +√(6/fan_in))} with {@code fan_in = shape[1]} (kaiming-uniform,
 * gain √2).
 *
 * @param a {@code vera_A}, row-major {@code [r, maxIn]}
 * @param b {@code vera_B}, row-major {@code [maxOut, r]}
 */
public record VeraProjections(int r, int maxIn, int maxOut, float[] a, float[] b) {

    public static VeraProjections generate(int r, int maxIn, int maxOut, long prngKey) {
        Mt19937 rng = new Mt19937(prngKey);
        float[] a = rng.uniform(Math.multiplyExact(r, maxIn), -kaimingBound(maxIn), kaimingBound(maxIn));
        float[] b = rng.uniform(Math.multiplyExact(maxOut, r), -kaimingBound(r), kaimingBound(r));
        return new VeraProjections(r, maxIn, maxOut, a, b);
    }

    /** PEFT's {@code _kaiming_init}: gain √2, std = gain/√fan, bound = √3·std, in double as Python computes it. */
    static double kaimingBound(int fanIn) {
        double std = Math.sqrt(2.0) / Math.sqrt(fanIn);
        return Math.sqrt(3.0) * std;
    }
}
