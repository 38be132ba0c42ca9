package dev.peftd.core.generate;

import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.tensor.IntraOpThreads;

/**
 * How many intra-op threads a serving forward pass computes with: a fixed count, or ({@link #AUTO}) one thread for a
 * pass too small to gain from more and every configured thread ({@link IntraOpThreads#processDefault}) otherwise.
 *
 * <p>Why not always every thread: each of libtorch's parallel regions wakes the sleeping OpenMP threads (peftd makes
 * them wait passively, {@code OpenMpWaitPolicy}), tens of microseconds, and on a small pass that costs more than
 * the split saves. Measured with {@code bench serving-batch} on the 2-core EPYC, aggregate tokens/s, one thread
 * against two: stories260K (hidden 64) base at 16 streams 6,357 against 2,299 and at 64 streams 12,398 against 6,333;
 * the 125M model (hidden 768) base at 1 stream 27.1 against 24.5, at 16 streams 142.9 against 168.5. A pass's size
 * is taken as its largest GEMM's multiply-adds, {@code tokens · hidden · intermediate}: 1.6 M for one 125M row,
 * 25 M for sixteen, 0.7 M for 64 rows of stories260K; at 8 and 12 rows of the 125M model one thread was still as
 * fast or faster (adapters 92.4 / 80.1 against 70.6 / 77.3 tokens/s at 8 streams, 108.8 / 104.5 against 90.3 / 101.2
 * at 12).
 *
 * @param threads the count every pass uses, or {@link #AUTO}
 */
public record PassThreads(int threads) {

    /** Chooses by each pass's size. */
    public static final int AUTO = 0;

    /** Every pass's count chosen by its size: the default. */
    public static final PassThreads BY_SIZE = new PassThreads(AUTO);

    /**
     * The largest GEMM's multiply-adds from which a pass uses every thread: between the sizes measured faster on one
     * thread (the 125M model's 4-, 8- and 12-row steps: 6.3, 12.6 and 18.9 M) and on two (its 16-row step, 25 M).
     */
    static final long PARALLEL_MIN_MACS = 20_000_000;

    public PassThreads {
        if (threads < 0) {
            throw new IllegalArgumentException("intra-op threads must be " + AUTO + " (by pass size) or positive, got "
                    + threads);
        }
    }

    /**
     * {@code auto} ({@link #AUTO}) or a count of at least 1, as an operator writes it.
     *
     * @throws IllegalArgumentException anything else
     */
    public static PassThreads parse(String text) {
        String value = text == null ? "" : text.trim();
        if (value.equals("auto")) {
            return BY_SIZE;
        }
        try {
            int count = Integer.parseInt(value);
            if (count >= 1) {
                return new PassThreads(count);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("give auto or a count of at least 1, got '" + value + "'");
    }

    /** The count for a pass over {@code tokens} token rows (batch × length) of a model shaped {@code config}. */
    public int forPass(ModelConfig config, long tokens) {
        if (threads != AUTO) {
            return threads;
        }
        long macs = tokens * config.hiddenSize() * (long) config.intermediateSize();
        return macs >= PARALLEL_MIN_MACS ? IntraOpThreads.processDefault() : 1;
    }

    /** Makes the calling thread compute a pass over {@code tokens} token rows with {@link #forPass}'s count. */
    public void applyTo(ModelConfig config, long tokens) {
        IntraOpThreads.use(forPass(config, tokens));
    }

    /** A count a shared thread holds for one pass; closing puts the thread back on the process's count. */
    public interface Borrowed extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * {@link #applyTo} for a thread that goes on to other work afterwards (a request thread), which would otherwise
     * keep this pass's count, perhaps one thread, for whatever it computes next: close the result after the pass.
     */
    public Borrowed borrow(ModelConfig config, long tokens) {
        applyTo(config, tokens);
        return () -> IntraOpThreads.use(IntraOpThreads.processDefault());
    }
}
