package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.tensor.IntraOpThreads;
import org.junit.jupiter.api.Test;

/**
 * {@code auto} gives a pass one thread below {@link PassThreads#PARALLEL_MIN_MACS} of its largest GEMM and every
 * configured thread from there; a count is used as given; an operator's text is {@code auto} or a count.
 */
class PassThreadsTest {

    /** A Llama shape: only the hidden and MLP widths matter here. */
    private static ModelConfig llama(int hidden, int intermediate) {
        return new ModelConfig("LlamaForCausalLM", 32000, hidden, intermediate, 2, 4, 4, hidden / 4, 512, 1e-5, false,
                1, new int[] {2}, null, false, false, false, "silu", 0);
    }

    private static final ModelConfig STORIES_260K = llama(64, 172);
    private static final ModelConfig BENCH_125M = llama(768, 2048);

    @Test
    void autoKeepsSmallPassesOnOneThreadAndGivesLargeOnesAll() {
        PassThreads auto = new PassThreads(PassThreads.AUTO);
        int all = IntraOpThreads.processDefault();
        assertThat(auto.forPass(STORIES_260K, 64)).as("a 64-row decode step of a 64-wide model").isEqualTo(1);
        assertThat(auto.forPass(BENCH_125M, 1)).as("one 125M row").isEqualTo(1);
        assertThat(auto.forPass(BENCH_125M, 4)).as("four 125M rows (6.3 M)").isEqualTo(1);
        assertThat(auto.forPass(BENCH_125M, 12)).as("twelve 125M rows (18.9 M)").isEqualTo(1);
        assertThat(auto.forPass(BENCH_125M, 16)).as("sixteen 125M rows (25 M)").isEqualTo(all);
        assertThat(auto.forPass(BENCH_125M, 32)).as("a 32-token 125M prefill").isEqualTo(all);
        long threshold = PassThreads.PARALLEL_MIN_MACS;
        ModelConfig exact = llama(1000, (int) (threshold / 1000));
        assertThat(auto.forPass(exact, 1)).as("at the threshold").isEqualTo(all);
        assertThat(auto.forPass(llama(1000, (int) (threshold / 1000) - 1), 1)).as("just under it").isEqualTo(1);
    }

    @Test
    void aCountIsUsedWhateverThePassesSize() {
        assertThat(new PassThreads(3).forPass(STORIES_260K, 1)).isEqualTo(3);
        assertThat(new PassThreads(1).forPass(BENCH_125M, 512)).isEqualTo(1);
    }

    @Test
    void anOperatorWritesAutoOrACount() {
        assertThat(PassThreads.parse("auto").threads()).isEqualTo(PassThreads.AUTO);
        assertThat(PassThreads.parse(" 2 ").threads()).isEqualTo(2);
        for (String bad : new String[] {"0", "-1", "two", "", "Auto"}) {
            assertThatThrownBy(() -> PassThreads.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("auto or a count of at least 1");
        }
        assertThatThrownBy(() -> new PassThreads(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
