package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/**
 * The Java deltas equal libtorch's product of each row's own factors, {@code y + (x·rightᵀ)·leftᵀ}, on a
 * stories260K-sized MLP module over several tokens a row, and are added into the output array itself.
 */
class HostLowRankTest {

    @Test
    void eachRowGetsLibtorchsProductOfItsOwnFactorsAddedIntoTheOutputInPlace() {
        int in = 64;
        int out = 172;
        int[] ranks = {16, 3, 0, 8, 9}; // 0: a row its adapter leaves alone
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(21);
            NDArray x = manager.randomNormal(0, 1, new Shape(ranks.length, 2, in), DataType.FLOAT32);  // [B, T, in]
            NDArray y = manager.randomNormal(0, 1, new Shape(ranks.length, 2, out), DataType.FLOAT32); // [B, T, out]
            NDArray before = y.duplicate();
            HostFactors[] rows = new HostFactors[ranks.length];
            NDArray[][] factors = new NDArray[ranks.length][];
            for (int b = 0; b < ranks.length; b++) {
                if (ranks[b] > 0) {
                    factors[b] = new NDArray[] {
                        manager.randomNormal(0, 0.3f, new Shape(out, ranks[b]), DataType.FLOAT32), // left [out, k]
                        manager.randomNormal(0, 0.3f, new Shape(ranks[b], in), DataType.FLOAT32)}; // right [k, in]
                    rows[b] = HostFactors.of(factors[b][0], factors[b][1]);
                }
            }
            HostLowRank.addDeltas(x, 2, y, rows);
            for (int b = 0; b < ranks.length; b++) {
                NDIndex row = NDIndex.sliceAxis(0, b, b + 1);
                NDArray want = factors[b] == null ? before.get(row)
                        : before.get(row).add(x.get(row).matMul(factors[b][1].transpose()).matMul(factors[b][0].transpose()));
                float[] expected = want.toFloatArray();
                float[] got = y.get(row).toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    assertThat(Math.abs(got[i] - expected[i])).as("row %d (rank %d), element %d", b, ranks[b], i)
                            .isLessThan(1e-5f * Math.max(1, Math.abs(expected[i])));
                }
            }
            assertThat(rows[0].bytes()).as("16 rank rows by 64 inputs, 16 columns of 172")
                    .isEqualTo(4L * (64 * 16 + 16 * 172));
            assertThat(rows[1].bytes()).as("3 padded to 8 lanes for the right factor only")
                    .isEqualTo(4L * (64 * 8 + 3 * 172));
        }
    }
}
