package dev.peftd.core.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchingTest {

    private static TokenizedExample example(int[] ids, int firstTrained) {
        boolean[] trained = new boolean[ids.length];
        for (int i = firstTrained; i < ids.length; i++) {
            trained[i] = true;
        }
        return new TokenizedExample(ids, trained);
    }

    @Test
    void batchShiftsTargetsPadsRightAndWeighsOnlyTrainedTokens() {
        Batch b = new Batch(List.of(example(new int[] {5, 6, 7, 8}, 2), example(new int[] {9, 10}, 0)), 0);
        try (NDManager m = NDManager.newBaseManager()) {
            assertThat(b.inputIds(m).toLongArray()).containsExactly(5, 6, 7, 8, 9, 10, 0, 0);
            // position t predicts token t+1 when that token is trained: 7 and 8 in row 0, 10 in row 1
            assertThat(b.targets(m).toLongArray()).containsExactly(0, 7, 8, 0, 10, 0, 0, 0);
            assertThat(b.weights(m).toFloatArray()).containsExactly(0, 1, 1, 0, 1, 0, 0, 0);
        }
        assertThat(b.lossTokens()).isEqualTo(3);
        assertThat(b.realTokens()).isEqualTo(6);
    }

    @Test
    void packingConcatenatesAndChunksKeepingTargets() {
        List<TokenizedExample> packed = Packing.pack(List.of(example(new int[] {1, 2, 3}, 3), example(new int[] {4, 5, 6, 7}, 0),
                example(new int[] {8, 9}, 0)), 4);
        // 9 tokens -> [1 2 3 4] [5 6 7 8] [9]; the last chunk has nothing to predict (its only token is position 0)
        assertThat(packed).hasSize(2);
        // the first example is prompt only (no target), so its tokens are packed but untrained
        assertThat(packed.get(0).ids()).containsExactly(1, 2, 3, 4);
        assertThat(packed.get(0).trained()).containsExactly(false, false, false, true);
        assertThat(packed.get(1).ids()).containsExactly(5, 6, 7, 8);
        assertThat(packed.get(1).lossTokens()).isEqualTo(3);
    }

    @Test
    void truncationKeepsTheStart() {
        TokenizedExample t = example(new int[] {1, 2, 3, 4, 5}, 1).truncate(3);
        assertThat(t.ids()).containsExactly(1, 2, 3);
        assertThat(t.lossTokens()).isEqualTo(2);
    }

    @Test
    void dataOrderIsASeededPermutationPerEpochAndAPureFunctionOfTheIndex() {
        DataOrder order = new DataOrder(10, 3, 42, true);
        assertThat(order.batchesPerEpoch()).isEqualTo(4);
        Set<Integer> epoch0 = new HashSet<>();
        List<Integer> firstEpoch = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            epoch0.addAll(order.batch(k));
            firstEpoch.addAll(order.batch(k));
        }
        assertThat(epoch0).hasSize(10);
        assertThat(order.batch(3)).hasSize(1); // last batch of the epoch is short
        List<Integer> secondEpoch = new ArrayList<>();
        for (int k = 4; k < 8; k++) {
            secondEpoch.addAll(order.batch(k));
        }
        assertThat(secondEpoch).isNotEqualTo(firstEpoch).containsExactlyInAnyOrderElementsOf(firstEpoch);
        // a fresh instance (a resumed run) that starts at batch 5 sees the same batch
        assertThat(new DataOrder(10, 3, 42, true).batch(5)).isEqualTo(order.batch(5));
        assertThat(new DataOrder(10, 3, 43, true).batch(0)).isNotEqualTo(order.batch(0));
        assertThat(new DataOrder(10, 3, 42, false).batch(1)).containsExactly(3, 4, 5);
    }

    @Test
    void validationSplitIsDisjointAndSeeded() {
        List<TokenizedExample> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(example(new int[] {i, i + 1}, 0));
        }
        List<List<TokenizedExample>> split = DataOrder.split(all, 0.2, 7);
        assertThat(split.get(1)).hasSize(4);
        assertThat(split.get(0)).hasSize(16).doesNotContainAnyElementsOf(split.get(1));
        assertThat(DataOrder.split(all, 0.2, 7).get(1)).isEqualTo(split.get(1));
        assertThatThrownBy(() -> DataOrder.split(all, 1.5, 7)).hasMessageContaining("eval_fraction");
    }
}
