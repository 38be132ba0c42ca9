package dev.peftd.core.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from one position's logits, in Java: the logits are already on the heap (one copy of
 * {@code vocab} floats per step) and a Java random generator makes seeded sampling reproducible across runs,
 * threads and machines.
 */
final class TokenSampler {

    private final double temperature;
    private final double topP;
    private final SplittableRandom random;

    TokenSampler(GenerationOptions options) {
        this.temperature = options.temperature();
        this.topP = options.topP();
        this.random = options.isGreedy() ? null
                : options.seed().isPresent() ? new SplittableRandom(options.seed().getAsLong()) : new SplittableRandom();
    }

    /** @param logits {@code [vocab]} raw scores of the next position */
    int next(float[] logits) {
        return random == null ? argmax(logits) : sample(logits);
    }

    /** The first index of the largest logit (as torch.argmax). */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private int sample(float[] logits) {
        // softmax(logits / T), in double, shifted by the max for stability
        float max = logits[argmax(logits)];
        double[] probs = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            probs[i] = Math.exp((logits[i] - max) / temperature);
            sum += probs[i];
        }
        for (int i = 0; i < probs.length; i++) {
            probs[i] /= sum;
        }
        int[] nucleus = topP >= 1 ? null : nucleus(probs);
        if (nucleus == null) {
            return draw(probs, null, 1.0);
        }
        double mass = 0;
        for (int index : nucleus) {
            mass += probs[index];
        }
        return draw(probs, nucleus, mass);
    }

    private int draw(double[] probs, int[] candidates, double mass) {
        double u = random.nextDouble() * mass;
        int n = candidates == null ? probs.length : candidates.length;
        int last = 0;
        for (int k = 0; k < n; k++) {
            int index = candidates == null ? k : candidates[k];
            if (probs[index] == 0) {
                continue;
            }
            last = index;
            u -= probs[index];
            if (u < 0) {
                return index;
            }
        }
        return last; // rounding left a sliver of mass: the last non-zero candidate takes it
    }

    /**
     * The smallest set of most likely tokens whose probabilities sum to at least {@code topP}, most likely first.
     * Sorting the whole vocabulary each step is wasteful: candidates above a threshold are sorted, and the threshold
     * is lowered until the set is reached (exact, since everything left out is less likely than what is in).
     */
    private int[] nucleus(double[] probs) {
        for (double threshold = 1e-3; ; threshold = threshold > 1e-9 ? threshold / 100 : 0) {
            int[] candidates = sortedAbove(probs, threshold);
            double cumulative = 0;
            for (int k = 0; k < candidates.length; k++) {
                cumulative += probs[candidates[k]];
                if (cumulative >= topP) {
                    return Arrays.copyOf(candidates, k + 1);
                }
            }
            if (threshold == 0) {
                return candidates; // probabilities sum to just under topP through rounding: take them all
            }
        }
    }

    private static int[] sortedAbove(double[] probs, double threshold) {
        int count = 0;
        long[] keyed = new long[probs.length];
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] >= threshold) {
                // descending probability, then ascending index: pack (~bits of the float, index) into one long
                long bits = Float.floatToIntBits((float) probs[i]);
                keyed[count++] = ((0x7fffffffL - bits) << 32) | i;
            }
        }
        long[] sorted = Arrays.copyOf(keyed, count);
        Arrays.sort(sorted);
        int[] indices = new int[count];
        for (int k = 0; k < count; k++) {
            indices[k] = (int) (sorted[k] & 0xffffffffL);
        }
        return indices;
    }
}
