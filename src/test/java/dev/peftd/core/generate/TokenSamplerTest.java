package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Comparator;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TokenSamplerTest {

    private static final float[] LOGITS = logitsOf(0.5, 0.3, 0.15, 0.05);

    private static float[] logitsOf(double... probs) {
        float[] logits = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            logits[i] = (float) Math.log(probs[i]);
        }
        return logits;
    }

    private static TokenSampler sampler(double temperature, double topP, long seed) {
        return new TokenSampler(GenerationOptions.greedy(1).withSampling(temperature, topP, OptionalLong.of(seed)));
    }

    private static double[] frequencies(TokenSampler sampler, float[] logits, int draws) {
        double[] counts = new double[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.next(logits)]++;
        }
        return Arrays.stream(counts).map(c -> c / draws).toArray();
    }

    @Test
    void greedyTakesTheFirstLargestLogit() {
        assertThat(new TokenSampler(GenerationOptions.greedy(1)).next(new float[] {1, 3, 3, -2})).isEqualTo(1);
    }

    @Test
    void theSameSeedGivesTheSameTokensAndAnotherSeedOthers() {
        float[] logits = new float[500];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        int[] a = IntStream.range(0, 50).map(i -> 0).toArray();
        TokenSampler first = sampler(1, 1, 42);
        TokenSampler second = sampler(1, 1, 42);
        TokenSampler other = sampler(1, 1, 43);
        int[] b = a.clone();
        int[] c = a.clone();
        for (int i = 0; i < a.length; i++) {
            a[i] = first.next(logits);
            b[i] = second.next(logits);
            c[i] = other.next(logits);
        }
        assertThat(a).isEqualTo(b).isNotEqualTo(c);
    }

    @Test
    void samplingFollowsTheSoftmaxOfLogitsOverTemperature() {
        double[] observed = frequencies(sampler(2.0, 1, 1), LOGITS, 40_000);
        double[] scaled = Arrays.stream(new double[] {0.5, 0.3, 0.15, 0.05}).map(p -> Math.sqrt(p)).toArray();
        double sum = Arrays.stream(scaled).sum();
        for (int i = 0; i < observed.length; i++) {
            assertThat(observed[i]).as("token %d", i).isCloseTo(scaled[i] / sum, within(0.01));
        }
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // 0.5 + 0.3 reaches 0.7: tokens 2 and 3 are never drawn, 0 and 1 keep their ratio 5:3
        double[] observed = frequencies(sampler(1, 0.7, 5), LOGITS, 40_000);
        assertThat(observed[2]).isZero();
        assertThat(observed[3]).isZero();
        assertThat(observed[0]).isCloseTo(0.625, within(0.01));
        // exactly at a boundary (0.8) the set is the same; just above it the third token joins
        assertThat(frequencies(sampler(1, 0.8, 5), LOGITS, 5_000)[2]).isZero();
        assertThat(frequencies(sampler(1, 0.81, 5), LOGITS, 20_000)[2]).isGreaterThan(0.1);
    }

    @Test
    void theNucleusOfALargeVocabularyIsTheSortedPrefix() {
        float[] logits = new float[50_000];
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 2);
        }
        TokenSampler sampler = sampler(1, 0.9, 7);
        // the nucleus by brute force: sort everything, take the prefix reaching 0.9
        double z = Logprobs.logSumExp(logits);
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -logits[i]));
        double cumulative = 0;
        int size = 0;
        while (cumulative < 0.9) {
            cumulative += Math.exp(logits[order[size++]] - z);
        }
        java.util.Set<Integer> nucleus = new java.util.HashSet<>(Arrays.asList(order).subList(0, size));
        for (int i = 0; i < 300; i++) {
            assertThat(nucleus).contains(sampler.next(logits));
        }
    }

    @Test
    void logprobsAreTheLogSoftmaxWithTheTopAlternatives() {
        TokenLogprob lp = Logprobs.of(LOGITS, 1, 3, id -> "t" + id);
        assertThat(lp.logprob()).isCloseTo(Math.log(0.3), within(1e-6));
        assertThat(lp.token()).isEqualTo("t1");
        assertThat(lp.top()).extracting(TokenLogprob.Alternative::tokenId).containsExactly(0L, 1L, 2L);
        assertThat(lp.top().get(2).logprob()).isCloseTo(Math.log(0.15), within(1e-6));
        assertThat(Logprobs.of(LOGITS, 3, 0, id -> "").top()).isEmpty();
    }
}
