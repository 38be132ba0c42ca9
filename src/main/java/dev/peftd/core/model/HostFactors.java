package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * One adapter's low-rank factors of one module, {@code ΔW = left·right}, copied to the Java heap in the layout
 * {@link HostLowRank} reads: the right factor in blocks of {@link #LANES} rank rows, each block by input column,
 * {@code rightBlocks[(j / LANES)·in·LANES + i·LANES + j % LANES] = right[j, i]}, and the left factor by rank column,
 * {@code leftColumns[j][o] = left[o, j]}. The rank is padded to a multiple of {@link #LANES} with zeros (they add
 * exact zeros). Blocks give the down-projection's loop a constant stride, whatever the rank, which lets C2 drop
 * its range checks (with the padded rank as the stride it kept eight per input column and ran 4× slower).
 *
 * @param in           the module's input width
 * @param out          the module's output width
 * @param rank         the adapter's own rank k (without the padding)
 * @param rightBlocks  {@code [K / LANES][in][LANES]}, flat; K the padded rank
 * @param leftColumns  {@code [k][out]}: the padded columns are never read, so they are not kept
 */
public record HostFactors(int in, int out, int rank, float[] rightBlocks, float[][] leftColumns) {

    /** The down-projection runs this many rank columns at once, in locals (see {@link HostLowRank}). */
    static final int LANES = 8;

    /**
     * @param left  float32 {@code [out, k]} (scaling folded in)
     * @param right float32 {@code [k, in]}
     */
    public static HostFactors of(NDArray left, NDArray right) {
        int out = Math.toIntExact(left.getShape().get(0));
        int rank = Math.toIntExact(right.getShape().get(0));
        int in = Math.toIntExact(right.getShape().get(1));
        int padded = paddedRank(rank);
        float[] r = right.toFloatArray();   // [k · in], row-major
        float[] l = left.toFloatArray();    // [out · k], row-major
        float[] rightBlocks = new float[in * padded];
        for (int j = 0; j < rank; j++) {
            for (int i = 0; i < in; i++) {
                rightBlocks[(j / LANES) * in * LANES + i * LANES + j % LANES] = r[j * in + i];
            }
        }
        float[][] leftColumns = new float[rank][out];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < rank; j++) {
                leftColumns[j][o] = l[o * rank + j];
            }
        }
        return new HostFactors(in, out, rank, rightBlocks, leftColumns);
    }

    /**
     * Copies of {@code rows}' arrays, allocated one after another in row order (a factor shared by several rows is
     * copied once), so that a pass over the rows reads one region of the heap front to back. Why: in a decode step
     * each row's factors come from memory (64 rows of stories260K: 12.5 MB a step, which the caches do not keep between
     * steps), and read from wherever each adapter's load put them, in short separate runs, the 64-row kernel took
     * 2.3 ms a step against 1.5 ms for consecutive copies (measured with the caches flushed between steps).
     *
     * @param rows each row's factors, or {@code null}
     */
    static HostFactors[] consecutive(HostFactors[] rows) {
        Map<HostFactors, HostFactors> copies = new IdentityHashMap<>();
        HostFactors[] out = new HostFactors[rows.length];
        for (int r = 0; r < rows.length; r++) {
            out[r] = rows[r] == null ? null : copies.computeIfAbsent(rows[r], HostFactors::copy);
        }
        return out;
    }

    private static HostFactors copy(HostFactors f) {
        float[] right = f.rightBlocks.clone();
        float[][] columns = new float[f.leftColumns.length][];
        for (int j = 0; j < columns.length; j++) {
            columns[j] = f.leftColumns[j].clone();
        }
        return new HostFactors(f.in, f.out, f.rank, right, columns);
    }

    /** The padded rank: {@code rank} rounded up to a multiple of {@link #LANES}. */
    static int paddedRank(int rank) {
        return (rank + LANES - 1) / LANES * LANES;
    }

    /** Heap bytes of the copies (the padding included). */
    public long bytes() {
        return bytes(in, out, rank);
    }

    /** Heap bytes of the copies of a module's factors of rank {@code rank}, before making them. */
    public static long bytes(long in, long out, int rank) {
        return Float.BYTES * (in * paddedRank(rank) + rank * out);
    }
}
