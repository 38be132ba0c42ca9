package dev.peftd.core.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.RandomLinears;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.PagedKvCache;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.IntraOpThreads;
import dev.peftd.core.tensor.NoGrad;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Prompts scored together give what each gives alone: mixed lengths (right padding never reaches a real token), a
 * LoRA, a VeRA and the bare base in one pass (grouped by adapter), mixed numbers of alternatives, within 1e-4; a tight
 * budget splits the list into passes within its rows and positions and still gives the same numbers.
 */
class BatchScorerTest {

    private static final BatchScorer.Budget ROOMY = new BatchScorer.Budget(64, 1 << 20);
    private static final BatchScorer.Budget ONE_AT_A_TIME = new BatchScorer.Budget(1, 1 << 20);
    private static final int[] LENGTHS = {9, 2, 17, 5, 13, 1, 11, 7, 16};

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void aBatchOfPromptsOverAdaptersScoresAsEachAlone(String family) throws Exception {
        Path dir = family.equals("llama") ? TestModels.tinyLlama() : TestModels.tinyGpt2();
        try (CausalLm model = ModelLoader.load(dir, Device.cpu()); NoGrad ignored = NoGrad.enter();
             AbstractAdapter lora = Adapters.create(LoraConfig.of(4, 8, TargetModules.allLinear()), model.linears(), 3);
             AbstractAdapter vera = Adapters.create(VeraConfig.of(8, TargetModules.allLinear()), model.linears(), 1)) {
            RandomLinears.perturb(lora, 2, 0.2);
            RandomLinears.perturb(vera, 4, 0.5);
            LinearHook[] hooks = {null, lora, vera};
            List<BatchScorer.Item> items = items(model.config().vocabSize(), hooks);

            BatchScorer batched = new BatchScorer(model, ROOMY);
            assertThat(batched.passes(items)).hasSize(1); // every scorable prompt in one forward pass
            List<List<TokenLogprob>> together = batched.tokenLogprobs(items, id -> "#" + id);
            List<List<TokenLogprob>> alone = new BatchScorer(model, ONE_AT_A_TIME).tokenLogprobs(items, id -> "#" + id);

            assertSame(items, together, alone);
            for (int i = 0; i < items.size(); i++) { // and alone means what the loss says: -Σ logprob = NLL
                if (items.get(i).ids().length >= 2) {
                    double nll = new SequenceScorer(model).score(items.get(i).ids(), items.get(i).hook(), false)
                            .negativeLogLikelihood();
                    assertThat(together.get(i).stream().mapToDouble(TokenLogprob::logprob).sum())
                            .isCloseTo(-nll, within(1e-3));
                }
            }
        }
    }

    @Test
    void aTightBudgetSplitsTheListIntoPassesWithinItsRowsAndPositions() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             AbstractAdapter lora = Adapters.create(LoraConfig.of(4, 8, TargetModules.allLinear()), model.linears(), 3)) {
            RandomLinears.perturb(lora, 2, 0.2);
            List<BatchScorer.Item> items = items(model.config().vocabSize(), new LinearHook[] {null, lora});
            BatchScorer.Budget tight = new BatchScorer.Budget(3, 33);
            BatchScorer scorer = new BatchScorer(model, tight);

            List<List<Integer>> passes = scorer.passes(items);
            assertThat(passes.stream().mapToInt(List::size).sum()).isEqualTo(LENGTHS.length - 1); // not the 1-token one
            for (List<Integer> pass : passes) {
                int longest = pass.stream().mapToInt(i -> items.get(i).ids().length).max().orElseThrow();
                assertThat(pass.size()).isLessThanOrEqualTo(tight.maxRows());
                assertThat(pass.size() == 1 || (long) pass.size() * longest <= tight.maxPositions())
                        .as("pass %s", pass).isTrue();
            }
            assertThat(passes).anySatisfy(pass -> assertThat(pass).hasSizeGreaterThan(1))
                    .anySatisfy(pass -> assertThat(pass).containsExactly(2)); // 17 tokens, alone over the 33 positions
            List<List<TokenLogprob>> alone = new BatchScorer(model, ONE_AT_A_TIME).tokenLogprobs(items, id -> "");
            assertSame(items, scorer.tokenLogprobs(items, id -> ""), alone);
        }
    }

    /**
     * A scoring pass runs on the caller's thread (a request thread, shared), with its {@link PassThreads}' count for
     * the pass only: afterwards the thread is back on the process's count.
     */
    @Test
    void theCallersThreadGetsItsCountBackAfterThePass() throws Exception {
        int all = IntraOpThreads.processDefault();
        int other = all == 1 ? 2 : 1;
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu())) {
            List<BatchScorer.Item> items = items(model.config().vocabSize(), new LinearHook[] {null});
            int after = CompletableFuture.supplyAsync(() -> {
                IntraOpThreads.use(all);
                new BatchScorer(model, ROOMY, new PassThreads(other)).tokenLogprobs(items, id -> "");
                return IntraOpThreads.ofThisThread();
            }).get(60, TimeUnit.SECONDS);
            assertThat(after).isEqualTo(all);
        }
    }

    @Test
    void theBudgetComesFromTheBatchLimitsAndAPositionsCost() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu())) {
            long perPosition = PagedKvCache.bytesPerPosition(model.config(), null) + 8L * model.config().vocabSize();
            BatchScorer.Budget budget = BatchScorer.Budget.of(new BatchDecoder.Limits(16, 100 * perPosition, 4),
                    model.config());
            assertThat(budget).isEqualTo(new BatchScorer.Budget(16, 100));
            assertThat(BatchScorer.Budget.of(new BatchDecoder.Limits(16, 1, 4), model.config()).maxPositions())
                    .isEqualTo(1);
            assertThatThrownBy(() -> new BatchScorer.Budget(0, 10)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** One prompt per length, random ids, hooks and alternatives taking turns. */
    private static List<BatchScorer.Item> items(int vocab, LinearHook[] hooks) {
        Random random = new Random(7);
        List<BatchScorer.Item> items = new ArrayList<>();
        for (int i = 0; i < LENGTHS.length; i++) {
            long[] ids = random.longs(LENGTHS[i], 0, vocab).toArray();
            items.add(new BatchScorer.Item(ids, hooks[i % hooks.length], new int[] {0, 3, 5}[i % 3]));
        }
        return items;
    }

    private static void assertSame(List<BatchScorer.Item> items, List<List<TokenLogprob>> actual,
                                   List<List<TokenLogprob>> expected) {
        assertThat(actual).hasSameSizeAs(items);
        for (int i = 0; i < items.size(); i++) {
            BatchScorer.Item item = items.get(i);
            List<TokenLogprob> a = actual.get(i);
            List<TokenLogprob> e = expected.get(i);
            assertThat(a).hasSize(Math.max(0, item.ids().length - 1)).hasSameSizeAs(e);
            for (int p = 0; p < a.size(); p++) {
                assertThat(a.get(p).tokenId()).isEqualTo(item.ids()[p + 1]);
                assertThat(a.get(p).logprob()).as("prompt %d position %d", i, p)
                        .isCloseTo(e.get(p).logprob(), within(1e-4));
                assertThat(a.get(p).top()).hasSize(item.alternatives()).hasSameSizeAs(e.get(p).top());
                for (int j = 0; j < a.get(p).top().size(); j++) {
                    assertThat(a.get(p).top().get(j).logprob()).isCloseTo(e.get(p).top().get(j).logprob(), within(1e-4));
                }
                if (!a.get(p).top().isEmpty()) {
                    assertThat(a.get(p).top().get(0).tokenId()).isEqualTo(e.get(p).top().get(0).tokenId());
                }
            }
        }
    }
}
