package dev.peftd.core.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which examples form micro-batch number k: epochs of a fresh seeded permutation each, cut into batches of
 * {@code batchSize} (the last batch of an epoch may be smaller, like a DataLoader without drop_last). The order is a
 * pure function of (seed, k), so a resumed run needs only the micro-batch index to continue exactly.
 */
public final class DataOrder {

    private final int examples;
    private final int batchSize;
    private final long seed;
    private final boolean shuffle;
    private int cachedEpoch = -1;
    private int[] cachedPermutation;

    /** @param shuffle false keeps file order in every epoch */
    public DataOrder(int examples, int batchSize, long seed, boolean shuffle) {
        if (examples < 1) {
            throw new IllegalArgumentException("dataset: no examples");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch_size: must be >= 1, got " + batchSize);
        }
        this.examples = examples;
        this.batchSize = batchSize;
        this.seed = seed;
        this.shuffle = shuffle;
    }

    public int batchesPerEpoch() {
        return (examples + batchSize - 1) / batchSize;
    }

    /** Epoch (0-based) that micro-batch {@code k} belongs to. */
    public int epochOf(long k) {
        return (int) (k / batchesPerEpoch());
    }

    /** Indices of the examples in micro-batch {@code k} (0-based over the whole run). */
    public List<Integer> batch(long k) {
        int[] perm = permutation(epochOf(k));
        int start = (int) (k % batchesPerEpoch()) * batchSize;
        int end = Math.min(examples, start + batchSize);
        List<Integer> out = new ArrayList<>(end - start);
        for (int i = start; i < end; i++) {
            out.add(perm[i]);
        }
        return out;
    }

    private int[] permutation(int epoch) {
        if (epoch != cachedEpoch) {
            // One independent stream per epoch, derived from the run seed (golden-ratio stride keeps them apart).
            SplittableRandom random = new SplittableRandom(seed + 0x9E3779B97F4A7C15L * (epoch + 1));
            int[] p = new int[examples];
            for (int i = 0; i < examples; i++) {
                p[i] = i;
            }
            for (int i = examples - 1; shuffle && i > 0; i--) {   // Fisher–Yates
                int j = random.nextInt(i + 1);
                int tmp = p[i];
                p[i] = p[j];
                p[j] = tmp;
            }
            cachedEpoch = epoch;
            cachedPermutation = p;
        }
        return cachedPermutation;
    }

    /** Splits off a validation set: {@code fraction} of the examples chosen by the seed (at least one each side). */
    public static List<List<TokenizedExample>> split(List<TokenizedExample> all, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("eval_fraction: must lie strictly between 0 and 1, got " + fraction);
        }
        if (all.size() < 2) {
            throw new IllegalArgumentException("eval_fraction: needs at least 2 examples to split, got " + all.size());
        }
        int evalCount = Math.max(1, Math.min(all.size() - 1, (int) Math.round(all.size() * fraction)));
        int[] perm = new DataOrder(all.size(), 1, ~seed, true).permutation(0);
        List<TokenizedExample> train = new ArrayList<>();
        List<TokenizedExample> eval = new ArrayList<>();
        for (int i = 0; i < perm.length; i++) {
            (i < evalCount ? eval : train).add(all.get(perm[i]));
        }
        return List.of(train, eval);
    }
}
