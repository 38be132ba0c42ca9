package dev.peftd.core.model;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Covers a batch's rows, in order, with the longest runs of rows that an earlier batch held with the same hooks in the
 * same order: each row's adapter factors are a function of its hook alone, so such a run's stacked factors can be
 * taken from the earlier batch as a slice instead of being stacked again ({@link GatheredFactors}).
 */
final class RowRuns {

    /**
     * Rows {@code [from, to)} of the batch; they are rows {@code [sourceFrom, sourceFrom + to - from)} of earlier batch
     * {@code source}, or, with {@code source} −1, found in none.
     */
    record Run(int source, int sourceFrom, int from, int to) {
    }

    /** A run of a new stack's rows, in batch order: a {@link Slice} of an earlier stack, or {@link Fresh} rows. */
    sealed interface Piece<S, R> permits Slice, Fresh {
    }

    /** Rows {@code [from, to)} of {@code source}, an earlier batch's stack of the same kind. */
    record Slice<S, R>(S source, int from, int to) implements Piece<S, R> {
    }

    /** Consecutive rows found in no earlier stack, each made from its own hook. */
    record Fresh<S, R>(List<R> rows) implements Piece<S, R> {
    }

    private RowRuns() {
    }

    /**
     * @param runs   {@link #cover}'s runs of the batch
     * @param stacks the stack earlier batch {@code e} holds of the same kind, or {@code null} when it has none to share
     * @param row    batch row {@code r}'s part, from its own hook
     * @return the batch's rows as slices of earlier stacks and fresh rows, in order
     */
    static <S, R> List<Piece<S, R>> pieces(List<Run> runs, IntFunction<S> stacks, IntFunction<R> row) {
        List<Piece<S, R>> pieces = new ArrayList<>();
        List<R> fresh = new ArrayList<>();
        for (Run run : runs) {
            S source = run.source() < 0 ? null : stacks.apply(run.source());
            if (source == null) {
                for (int r = run.from(); r < run.to(); r++) {
                    fresh.add(row.apply(r));
                }
                continue;
            }
            if (!fresh.isEmpty()) {
                pieces.add(new Fresh<>(fresh));
                fresh = new ArrayList<>();
            }
            pieces.add(new Slice<>(source, run.sourceFrom(), run.sourceFrom() + run.to() - run.from()));
        }
        if (!fresh.isEmpty()) {
            pieces.add(new Fresh<>(fresh));
        }
        return pieces;
    }

    /** How many rows the pieces make from their own hooks rather than slice from earlier stacks. */
    static int freshRows(List<? extends Piece<?, ?>> pieces) {
        return pieces.stream().mapToInt(p -> p instanceof Fresh<?, ?> f ? f.rows().size() : 0).sum();
    }

    /**
     * @param rows    each row's hook ({@code null}: the bare base)
     * @param earlier each earlier batch's row hooks
     * @return runs covering {@code [0, rows.length)} in order; consecutive rows found nowhere form one run
     */
    static List<Run> cover(LinearHook[] rows, List<LinearHook[]> earlier) {
        List<Map<LinearHook, List<Integer>>> where = new ArrayList<>(earlier.size()); // hook -> its rows, per batch
        for (LinearHook[] batch : earlier) {
            Map<LinearHook, List<Integer>> positions = new IdentityHashMap<>();
            for (int r = 0; r < batch.length; r++) {
                positions.computeIfAbsent(batch[r], h -> new ArrayList<>()).add(r);
            }
            where.add(positions);
        }
        List<Run> runs = new ArrayList<>();
        int p = 0;
        int freshFrom = -1;
        while (p < rows.length) {
            int bestSource = -1;
            int bestFrom = 0;
            int bestLength = 0;
            for (int e = 0; e < earlier.size(); e++) {
                LinearHook[] batch = earlier.get(e);
                for (int s : where.get(e).getOrDefault(rows[p], List.of())) {
                    int length = 0;
                    while (p + length < rows.length && s + length < batch.length && batch[s + length] == rows[p + length]) {
                        length++;
                    }
                    if (length > bestLength) {
                        bestSource = e;
                        bestFrom = s;
                        bestLength = length;
                    }
                }
            }
            if (bestLength == 0) {
                freshFrom = freshFrom < 0 ? p : freshFrom;
                p++;
                continue;
            }
            if (freshFrom >= 0) {
                runs.add(new Run(-1, 0, freshFrom, p));
                freshFrom = -1;
            }
            runs.add(new Run(bestSource, bestFrom, p, p + bestLength));
            p += bestLength;
        }
        if (freshFrom >= 0) {
            runs.add(new Run(-1, 0, freshFrom, p));
        }
        return runs;
    }
}
