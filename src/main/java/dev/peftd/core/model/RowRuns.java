package dev.peftd.core.model;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

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

    private RowRuns() {
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
