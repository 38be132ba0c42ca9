package dev.peftd.core.generate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.GroupedHook;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.PagedKvCache;
import dev.peftd.core.tensor.NoGrad;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * Scores many prompts token by token (serving's {@code echo} with logprobs, how evaluation harnesses score text):
 * every token's log-probability given the ones before it, with the most likely alternatives at each position, as
 * {@link SequenceScorer} defines them, but several prompts per forward pass.
 *
 * <p>A pass takes prompts right-padded to its longest: causal attention never lets a real token see a later one, so
 * the padding changes no real position, and its outputs are dropped. Rows may carry different adapters: they are put
 * in order of their hook and a {@link GroupedHook} runs each base GEMM once for the pass. Prompts are taken longest
 * first, so a pass pads little, and each pass stays within a {@link Budget} of rows and padded positions, so a list
 * of many long prompts runs as several passes rather than one that could exhaust memory. A prompt longer than the
 * budget on its own still runs, alone (what one-at-a-time scoring did).
 */
public final class BatchScorer {

    /**
     * One prompt to score.
     *
     * @param hook         its adapter, or {@code null} for the bare base
     * @param alternatives how many most likely tokens to list per position (0: none)
     */
    public record Item(long[] ids, LinearHook hook, int alternatives) {
    }

    /**
     * How much one scoring pass may hold.
     *
     * @param maxRows      most prompts in one pass
     * @param maxPositions most padded positions (rows × the longest row) in one pass
     */
    public record Budget(int maxRows, long maxPositions) {
        public Budget {
            if (maxRows < 1 || maxPositions < 1) {
                throw new IllegalArgumentException("a scoring budget must be positive, got rows " + maxRows
                        + ", positions " + maxPositions);
            }
        }

        /**
         * The generation batch's limits applied to scoring: its rows, and as many positions as its KV-cache budget
         * holds of what a scored position costs while its pass runs (every layer's keys and values, plus float32
         * logits and log-probabilities over the vocabulary).
         */
        public static Budget of(BatchDecoder.Limits limits, ModelConfig config) {
            // a pass's keys and values are float32 activations, not a cache, whatever the model's dtype
            long perPosition = PagedKvCache.bytesPerPosition(config, null) + 2L * config.vocabSize() * Float.BYTES;
            return new Budget(limits.maxRows(), Math.max(1, limits.cacheBytes() / perPosition));
        }
    }

    private final CausalLm model;
    private final Budget budget;
    private final PassThreads passThreads;

    /** With threads chosen by each pass's size ({@link PassThreads#AUTO}). */
    public BatchScorer(CausalLm model, Budget budget) {
        this(model, budget, PassThreads.BY_SIZE);
    }

    /** @param passThreads the intra-op threads each pass computes with (on the calling thread) */
    public BatchScorer(CausalLm model, Budget budget, PassThreads passThreads) {
        this.model = model;
        this.budget = budget;
        this.passThreads = passThreads;
    }

    /**
     * @param tokenText token id to its text, for display
     * @return for each item, in order, one entry per token from the second on (none for a one-token prompt)
     * @throws IllegalArgumentException a prompt longer than a model with learned positions can take
     */
    public List<List<TokenLogprob>> tokenLogprobs(List<Item> items, LongFunction<String> tokenText) {
        ModelConfig config = model.config();
        for (Item item : items) {
            if (config.rope() == null && item.ids().length > config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("the sequence has " + item.ids().length
                        + " tokens; the model's context window is " + config.maxPositionEmbeddings());
            }
        }
        List<List<TokenLogprob>> results = new ArrayList<>(items.size());
        items.forEach(item -> results.add(List.of()));
        for (List<Integer> pass : passes(items)) {
            List<List<TokenLogprob>> scored = score(pass.stream().map(items::get).toList(), tokenText);
            for (int r = 0; r < pass.size(); r++) {
                results.set(pass.get(r), scored.get(r));
            }
        }
        return results;
    }

    /** Item indices in passes: longest first, each pass within the budget, each pass's rows in order of their hook. */
    List<List<Integer>> passes(List<Item> items) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).ids().length >= 2) { // a lone token has no context to be scored by
                order.add(i);
            }
        }
        order.sort(Comparator.comparingInt((Integer i) -> -items.get(i).ids().length));
        List<List<Integer>> passes = new ArrayList<>();
        List<Integer> pass = new ArrayList<>();
        for (int i : order) {
            long longest = pass.isEmpty() ? items.get(i).ids().length : items.get(pass.get(0)).ids().length;
            if (!pass.isEmpty() && (pass.size() + 1 > budget.maxRows() || (pass.size() + 1) * longest > budget.maxPositions())) {
                passes.add(byHook(pass, items));
                pass = new ArrayList<>();
            }
            pass.add(i);
        }
        if (!pass.isEmpty()) {
            passes.add(byHook(pass, items));
        }
        return passes;
    }

    /** The pass's rows with each hook's rows consecutive, hooks in order of first appearance (stable within one). */
    private static List<Integer> byHook(List<Integer> pass, List<Item> items) {
        Map<LinearHook, Integer> first = new IdentityHashMap<>();
        for (int i : pass) {
            first.putIfAbsent(items.get(i).hook(), first.size());
        }
        List<Integer> sorted = new ArrayList<>(pass);
        sorted.sort(Comparator.comparingInt(i -> first.get(items.get(i).hook())));
        return sorted;
    }

    /** One forward pass over {@code rows} (at least one, each of at least two tokens, grouped by hook). */
    private List<List<TokenLogprob>> score(List<Item> rows, LongFunction<String> tokenText) {
        int batch = rows.size();
        int length = rows.stream().mapToInt(r -> r.ids().length).max().orElseThrow();
        int k = Math.min(rows.stream().mapToInt(Item::alternatives).max().orElseThrow(), model.config().vocabSize());
        long[] ids = new long[batch * length]; // right-padded with token 0
        for (int r = 0; r < batch; r++) {
            System.arraycopy(rows.get(r).ids(), 0, ids, r * length, rows.get(r).ids().length);
        }
        List<GroupedHook.Group> groups = groups(rows);
        GroupedHook grouped = groups.size() == 1 ? null : new GroupedHook(groups);
        LinearHook hook = grouped == null ? groups.get(0).hook() : grouped;
        float[] chosen;
        float[] topValues = new float[0];
        long[] topIds = new long[0];
        try (PassThreads.Borrowed threads = passThreads.borrow(model.config(), (long) batch * length); // the caller's thread
             NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager(device());
             NDScope scope = new NDScope()) {
            NDArray input = manager.create(ids, new Shape(batch, length));             // [B, T] int64
            NDArray logits = model.forward(input, null, hook);                         // [B, T, vocab]
            NDArray logProbs = logits.get(":, :-1, :").logSoftmax(-1);                 // [B, T-1, vocab]
            NDArray targets = input.get(":, 1:").expandDims(-1);                       // [B, T-1, 1]
            chosen = logProbs.gather(targets, -1).toFloatArray();                      // [B * (T-1)]
            if (k > 0) {
                NDList top = logProbs.topK(k, -1, true, true);
                topValues = top.get(0).toFloatArray();                                 // [B, T-1, k]
                topIds = top.get(1).toLongArray();                                     // [B, T-1, k]
            }
        } finally {
            if (grouped != null) {
                grouped.close();
            }
        }
        List<List<TokenLogprob>> out = new ArrayList<>(batch);
        for (int r = 0; r < batch; r++) {
            Item row = rows.get(r);
            int positions = row.ids().length - 1;
            int own = Math.min(row.alternatives(), k);
            List<TokenLogprob> tokens = new ArrayList<>(positions);
            for (int p = 0; p < positions; p++) {
                int at = r * (length - 1) + p;
                List<TokenLogprob.Alternative> alts = new ArrayList<>(own);
                for (int j = 0; j < own; j++) {
                    long id = topIds[at * k + j];
                    alts.add(new TokenLogprob.Alternative(id, tokenText.apply(id), topValues[at * k + j]));
                }
                long id = row.ids()[p + 1];
                tokens.add(new TokenLogprob(id, tokenText.apply(id), chosen[at], List.copyOf(alts)));
            }
            out.add(tokens);
        }
        return out;
    }

    /** Consecutive rows with the same hook, for {@link GroupedHook}. */
    private static List<GroupedHook.Group> groups(List<Item> rows) {
        List<GroupedHook.Group> groups = new ArrayList<>();
        int from = 0;
        for (int r = 1; r <= rows.size(); r++) {
            if (r == rows.size() || rows.get(r).hook() != rows.get(from).hook()) {
                groups.add(new GroupedHook.Group(r - from, rows.get(from).hook()));
                from = r;
            }
        }
        return groups;
    }

    /** Where the model's weights are: the input must be there too. */
    private Device device() {
        return model.linears().values().iterator().next().device();
    }
}
