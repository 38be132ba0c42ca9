package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Many adapters in one forward pass: the batch's rows come in groups of consecutive rows, each group with its own
 * hook (an adapter) or none (the bare base). Every linear layer computes its base output once for the whole batch;
 * each group's hook then sees only its own rows (views of the input and of the base output, axis 0) and adds its
 * delta there. A hook that adds in place to the view it was given (a factored adapter on a float32 base) has thereby
 * written into the shared output and nothing is copied; a hook that returns a new array (on a half base) has its
 * rows put together with the others' by one concatenation.
 *
 * <p>When every hook is a {@link LowRankHook} (a served adapter), the groups are fused instead: per module, the
 * adapters' factors are concatenated ({@code right [ΣK, in]}, {@code left [out, ΣK]}) and each row's down-projection
 * is masked to its own adapter's columns, so the deltas of all groups cost two GEMMs, a mask multiply and an add
 * however many adapters share the batch (the other adapters' columns are exact zeros in a row). That path's GEMMs
 * grow with the sum of the ranks ΣK, so each row does the work of every adapter. When ΣK is more than twice the
 * largest rank K (more than two adapters of one rank, the common case), each row instead gathers its own adapter's
 * factors from stacks kept per module and the deltas are two batched matrix products of rank K
 * ({@link GatheredFactors}); below that the masked GEMMs do at most twice the necessary work in one large product,
 * which beats B small ones. Inputs that are not {@code [B, T, in]} keep the masked path. Whatever a module's path,
 * its arrays are built at its first call and kept until {@link #close()}, so a decode loop that reuses the hook while
 * its groups stay the same builds them once; and a hook made for a changed batch takes the gathered rows it shares, in
 * order, with earlier hooks (rows still running, rows just prefilled) as slices of their stacks, so a change of the
 * batch costs in proportion to its new rows ({@link RowRuns}). Gathered modules that the model calls one after another
 * on one input (q/k/v, gate/up; learned from a pass, {@link SiblingModules}) get all their deltas from the first one's
 * call, two batched products and a split for all of them ({@link SiblingFactors}): on a small model a step's cost is
 * its count of native calls.
 *
 * <p>Small modules skip the shared base GEMM ({@link #output}): when every adapter in the batch that changes a module
 * serves it through a merged weight {@code W + left·right} ({@link LowRankHook#mergedRow}: a float32 base and a
 * weight at most eight times the adapter's factors for it, built once per adapter and counted in the adapter cache's
 * budget) and the rows' stack of weights holds at most {@link #MERGED_STACK_MAX} elements, each row's merged weight
 * (the base weight {@code W} itself on a row the module's adapter leaves alone, a bare-base row among them) is stacked
 * and the module's output is one batched product ({@link MergedRows}), the native-call count of the base's own GEMM.
 * The stacks follow the batch like the gathered factors (slices of earlier hooks' stacks, only new rows stacked).
 *
 * <p>A decode step of {@link #HOST_MIN_ROWS} rows or more on a float32 CPU base takes neither stack for small
 * modules: each row's delta is computed in Java from its adapter's factors kept as Java arrays
 * ({@link LowRankHook#hostFactors}, {@link HostLowRank}) and added into the shared base GEMM's output, a cost that
 * follows the rows' FLOPs and factor bytes instead of a native call or a GEMV per row. On stories260K it took the
 * adapters' 16-stream throughput from 0.64–0.70 of the base's to 0.75–0.82; at 64 rows it is about as fast as the
 * stacks (0.55–0.68 against 0.59–0.63): the 64 rows' factors, 12.5 MB a step, and their arithmetic take 1.2 ms a step
 * with warm caches and 1.45 ms with flushed ones, about what the stacks' batched products take in the serving loop.
 * A prefill keeps the stacks (32 tokens a row make the batched products efficient; the Java deltas there measured
 * no faster).
 *
 * <p>Which path a module takes, per batch ({@link #path}): one group, no GroupedHook at all (the adapter alone, which
 * merges small modules itself); groups whose hooks are not all {@link LowRankHook}s, {@link Path#PER_GROUP};
 * otherwise, on {@code [B, T, in]} input, {@link Path#HOST} in a decode step as above, {@link Path#MERGED} under the
 * conditions above, else {@link Path#GATHERED} when ΣK > 2·K, else {@link Path#MASKED} (also for any other input
 * shape); {@link Path#NOT_ADAPTED} when no row's adapter changes the module. On stories260K with one adapter per row,
 * a decode step of 8 rows or more on the CPU takes the Java deltas for every module, and a prefill (or a smaller
 * step) merges every module up to 23 rows and only the attention projections at 64; on a 768-wide model nothing is
 * merged or kept in Java and every module is gathered.
 *
 * <p>A half Llama-style block does not call the hook per linear when {@link #rowFactorStacks} gives every product's
 * gathered stacks: it adds the deltas inside its two fused calls ({@code HalfOps.attentionInput} /
 * {@code attentionOutput}), the same products and sums as {@link #applyFused}'s.
 *
 * <p>A merged row sums {@code x·(W + left·right)ᵀ} where the shared path sums {@code x·Wᵀ + (x·rightᵀ)·leftᵀ}: equal
 * within float32 rounding, as the single-adapter merged path (the batch-equivalence tests hold a request in a batch to
 * itself alone within 1e-4). {@link LinearHook#output} overrides of other hooks (a merged weight in a training pass)
 * are never called: a merged adapter is a model of its own and never shares a batch with its base.
 */
public final class GroupedHook implements LinearHook, AutoCloseable {

    /** {@code rows} consecutive rows of the batch and their hook ({@code null}: the bare base). */
    public record Group(int rows, LinearHook hook) {
    }

    private static final NDArray[] NOT_ADAPTED = new NDArray[0];

    /**
     * The most elements ({@code rows·out·in}) a module's stack of merged rows may hold: 1 MiB of float32. Past it the
     * batched product over per-row weights reads more memory than the shared base GEMM and the gathered factors' two
     * products cost. Measured on stories260K (64 wide, 64 rank-8 LoRA adapters, one thread, on a loaded 2-core machine;
     * the base decode step's time over the adapter step's, fastest of ~140 steps each): 4 rows 0.87–0.97 merged
     * against 0.71–0.75 gathered, 16 rows 0.82–0.96 against 0.73–0.81; at 64 rows merging the MLP modules too
     * ({@code 64·172·64} elements a stack, 57 MB read a step) gave 0.41 against 0.67. So on that model every module
     * merges up to 23 rows and q/k/v/o_proj up to 64; a 768-wide module ({@code 768·768} elements) never does.
     */
    static final long MERGED_STACK_MAX = 1L << 18;

    /**
     * The fewest rows a decode step must have for its small modules to take the Java deltas ({@link HostLowRank}).
     * Below it the merged rows' stacks are small enough to stay in the caches, and their one batched product beat the
     * Java deltas' fixed cost per module (two direct buffers): on stories260K, one thread, adapters / base at 4
     * streams 0.84–1.00 merged against 0.80–0.88 in Java over five alternating rounds, at 8 streams 0.84 against
     * 0.85–0.86, at 16 streams 0.64–0.70 against 0.75–0.82.
     */
    static final int HOST_MIN_ROWS = 8;

    private final List<Group> groups;
    private final boolean fused;
    // module -> {left, right, mask} (masked), a GatheredFactors, or NOT_ADAPTED
    private final Map<String, Object> fusedFactors = new ConcurrentHashMap<>();
    private final Map<String, Object> mergedRows = new ConcurrentHashMap<>(); // module -> MergedRows or NOT_ADAPTED
    private final Map<String, Object> hostRows = new ConcurrentHashMap<>(); // module -> HostFactors[] or NOT_ADAPTED
    private final LinearHook[] rowHooks; // each row's hook, null for the bare base
    private volatile List<GroupedHook> earlier;
    private List<RowRuns.Run> runs; // this batch's rows as runs of earlier hooks' rows, found at the first stacked module
    private volatile boolean closed;
    private NDManager kept;
    private final SiblingModules siblings;
    private final Map<String, Object> siblingFactors = new ConcurrentHashMap<>(); // first sibling -> SiblingFactors or NOT_ADAPTED
    private NDArray siblingInput;                                 // the input of the last siblings' deltas
    private final Map<String, NDArray> siblingDeltas = new java.util.HashMap<>(); // the later siblings' deltas, until called

    public GroupedHook(List<Group> groups) {
        this(groups, List.of());
    }

    /**
     * @param earlier hooks of earlier batches (the last decode step's, the last prefill's) whose gathered stacks this
     *                hook takes rows from instead of stacking them again, while they are open: close them only
     *                after this hook's first forward pass
     */
    public GroupedHook(List<Group> groups, List<GroupedHook> earlier) {
        this.groups = List.copyOf(groups);
        this.fused = groups.size() > 1 && groups.stream().allMatch(g -> g.hook() == null || g.hook() instanceof LowRankHook);
        this.rowHooks = groups.stream().flatMap(g -> java.util.Collections.nCopies(g.rows(), g.hook()).stream())
                .toArray(LinearHook[]::new);
        this.earlier = List.copyOf(earlier);
        this.siblings = earlier.isEmpty() ? new SiblingModules() : earlier.get(0).siblings;
    }

    /** Whether {@code other} has the same hooks (the same objects) over the same row counts, in the same order. */
    public boolean sameGroups(List<Group> other) {
        if (other.size() != groups.size()) {
            return false;
        }
        for (int g = 0; g < groups.size(); g++) {
            if (other.get(g).hook() != groups.get(g).hook() || other.get(g).rows() != groups.get(g).rows()) {
                return false;
            }
        }
        return true;
    }

    /**
     * @param input      {@code [B, ..., in]}
     * @param baseOutput {@code [B, ..., out]}
     * @return {@code [B, ..., out]}, each group's rows with its own delta
     */
    @Override
    public NDArray apply(String module, NDArray input, NDArray baseOutput) {
        return fused ? applyFused(module, input, baseOutput) : applyPerGroup(module, input, baseOutput);
    }

    /**
     * In a decode step ({@code [B, 1, in]}) of at least {@link #HOST_MIN_ROWS} rows on a float32 CPU base, a small
     * module whose every adapted row's adapter keeps {@link HostFactors} runs as the shared base GEMM plus each row's
     * delta computed in Java ({@link HostLowRank}); otherwise a small module whose every adapted row has a merged
     * weight runs as one batched product over the rows' stacked weights ({@link MergedRows}); every other module as
     * its shared base output plus {@link #apply}'s deltas.
     *
     * @param input {@code [B, ..., in]}
     * @return {@code [B, ..., out]}
     */
    @Override
    public NDArray output(LinearLayer layer, NDArray input) {
        Shape shape = input.getShape(); // a native call each time: asked once
        if (fused && shape.dimension() == 3 && shape.get(1) == 1 && rowHooks.length >= HOST_MIN_ROWS
                && HostLowRank.mayWrite()
                && hostRows.computeIfAbsent(layer.name(), m -> hostRows(layer, input)) instanceof HostFactors[] rows) {
            NDArray out = layer.baseOutput(input); // [B, 1, out], fresh and contiguous
            HostLowRank.addDeltas(input, 1, out, rows);
            return out;
        }
        if (fused && shape.dimension() == 3
                && mergedRows.computeIfAbsent(layer.name(), m -> mergeRows(layer)) instanceof MergedRows rows) {
            return rows.output(input, layer.hasBias() ? layer.bias() : null);
        }
        return apply(layer.name(), input, layer.baseOutput(input));
    }

    /**
     * Every product's gathered stacks ({@link GatheredFactors} for one module, {@link SiblingFactors} for several), so
     * that a half block adds its deltas inside its fused calls instead of running op by op (~25 native calls a block,
     * each converting its float32 input to the half type and back). {@code null} unless every row's hook is a
     * {@link LowRankHook}, the input is {@code [B, T, in]} and every product is gathered (more than two adapters of a
     * rank, every module adapted by some row).
     */
    @Override
    public List<RowFactorStacks> rowFactorStacks(List<List<String>> products, NDArray like) {
        if (!fused || like.getShape().dimension() != 3) {
            return null;
        }
        List<RowFactorStacks> stacks = new ArrayList<>(products.size());
        for (List<String> modules : products) {
            Object built = modules.size() == 1
                    ? fusedFactors.computeIfAbsent(modules.get(0), m -> fuse(m, like))
                    : siblingFactors.computeIfAbsent(modules.get(0), m -> siblingFactors(modules, like));
            if (built instanceof GatheredFactors g) {
                stacks.add(g.stacks());
            } else if (built instanceof SiblingFactors s) {
                stacks.add(s.stacks());
            } else {
                return null;
            }
        }
        return stacks;
    }

    /**
     * @param input      {@code [B, ..., in]}
     * @param baseOutput {@code [B, ..., out]}
     */
    private NDArray applyFused(String module, NDArray input, NDArray baseOutput) {
        if (input == siblingInput) {
            NDArray delta = siblingDeltas.remove(module);
            if (delta != null) {
                return baseOutput.add(delta); // computed with its first sibling's
            }
        }
        List<String> family = input.getShape().dimension() == 3 ? siblings.ledBy(module) : null;
        if (family == null) {
            siblings.observe(module, input);
        } else if (siblingFactors.computeIfAbsent(module, m -> siblingFactors(family, input)) instanceof SiblingFactors f) {
            NDList deltas = f.deltas(input); // each [B, T, out]
            siblingInput = input;
            siblingDeltas.clear();
            for (int i = 1; i < family.size(); i++) {
                siblingDeltas.put(family.get(i), deltas.get(i));
            }
            return baseOutput.add(deltas.get(0));
        }
        Object built = fusedFactors.computeIfAbsent(module, m -> fuse(m, input));
        if (built == NOT_ADAPTED) {
            return baseOutput;
        }
        if (built instanceof GatheredFactors gathered) {
            return gathered.apply(input, baseOutput);
        }
        NDArray[] f = (NDArray[]) built;
        NDArray down = ai.djl.nn.core.Linear.linear(input, f[1]).singletonOrThrow().mul(f[2]); // [B, ..., ΣK], own columns only
        NDArray up = ai.djl.nn.core.Linear.linear(down, f[0]).singletonOrThrow();              // [B, ..., out]
        return baseOutput.add(up); // a new array: a half base's output may not be written in place
    }

    /**
     * {@link GatheredFactors} for {@code module} when the input is {@code [B, T, in]} and ΣK > 2·K, else
     * {left [out, ΣK], right [ΣK, in], mask [B, 1…, ΣK]}; kept in this hook's own manager.
     */
    private synchronized Object fuse(String module, NDArray like) {
        NDList lefts = new NDList();
        NDList rights = new NDList();
        int[] widths = new int[groups.size()];
        for (int g = 0; g < groups.size(); g++) {
            NDArray[] f = groups.get(g).hook() == null ? null : ((LowRankHook) groups.get(g).hook()).lowRank(module);
            if (f != null) {
                lefts.add(f[0]);
                rights.add(f[1]);
                widths[g] = (int) f[1].getShape().get(0);
            }
        }
        if (lefts.isEmpty()) {
            return NOT_ADAPTED;
        }
        if (kept == null) {
            kept = lefts.get(0).getManager().newSubManager();
        }
        int total = java.util.Arrays.stream(widths).sum();
        int rank = java.util.Arrays.stream(widths).max().orElseThrow();
        int[] groupRows = groups.stream().mapToInt(Group::rows).toArray();
        if (like.getShape().dimension() == 3 && total > 2 * rank) {
            return new GatheredFactors(kept, pieces(module, rank), rank, rights.get(0).getShape().get(1),
                    lefts.get(0).getShape().get(0));
        }
        long rows = java.util.Arrays.stream(groupRows).sum();
        float[] mask = new float[(int) rows * total];
        int row = 0;
        int column = 0;
        for (int g = 0; g < groups.size(); g++) {
            for (int r = 0; r < groupRows[g]; r++, row++) {
                java.util.Arrays.fill(mask, row * total + column, row * total + column + widths[g], 1f);
            }
            column += widths[g];
        }
        long[] maskShape = new long[like.getShape().dimension()];
        java.util.Arrays.fill(maskShape, 1);
        maskShape[0] = rows;
        maskShape[maskShape.length - 1] = total;
        NDArray[] fusedArrays = {
            lefts.size() == 1 ? lefts.get(0).duplicate() : NDArrays.concat(lefts, 1),   // [out, ΣK]
            rights.size() == 1 ? rights.get(0).duplicate() : NDArrays.concat(rights, 0), // [ΣK, in]
            dev.peftd.core.tensor.OwnedArrays.of(kept, mask, new ai.djl.ndarray.types.Shape(maskShape),
                    lefts.get(0).getDevice())};                                                // [B, 1…, ΣK]
        for (NDArray a : fusedArrays) {
            ai.djl.ndarray.NDScope.unregister(a); // outlive this forward call: reused while the groups stay the same
            a.attach(kept);
        }
        return fusedArrays;
    }

    /**
     * This batch's rows for {@link GatheredFactors}: slices of earlier hooks' stacks of {@code module} at the same rank
     * where rows match, in order, rows of theirs; the other rows from their own factors.
     */
    private List<RowRuns.Piece<GatheredFactors, NDArray[]>> pieces(String module, long rank) {
        List<GroupedHook> sources = earlier;
        return RowRuns.pieces(runs(sources), e -> e < sources.size() ? sources.get(e).gathered(module, rank) : null,
                r -> rowHooks[r] == null ? null : ((LowRankHook) rowHooks[r]).lowRank(module));
    }

    /** This batch's rows as runs of earlier hooks' rows, found at the first stacked module. */
    private synchronized List<RowRuns.Run> runs(List<GroupedHook> sources) {
        if (runs == null) {
            runs = RowRuns.cover(rowHooks, sources.stream().map(h -> h.rowHooks).toList());
        }
        return runs;
    }

    /**
     * Every row's weight for {@code layer} stacked ({@link MergedRows}) when the layer is float32, the stack at most
     * {@link #MERGED_STACK_MAX} elements, some row's adapter changes it and every such adapter serves it through a
     * merged weight; else {@link #NOT_ADAPTED} (the shared base GEMM and the deltas of {@link #apply}).
     */
    private synchronized Object mergeRows(LinearLayer layer) {
        String module = layer.name();
        if (layer.halfPrecision() || layer.weightShape().size() * rowHooks.length > MERGED_STACK_MAX) {
            return NOT_ADAPTED;
        }
        // each row's [1, in, out]; null: a row this module's adapter leaves alone, which gets the base weight itself
        NDArray[] weights = offered(module, hook -> hook.mergedRow(layer), NDArray[]::new);
        if (weights == null) {
            return NOT_ADAPTED;
        }
        if (kept == null) {
            kept = layer.weight().getManager().newSubManager();
        }
        List<GroupedHook> sources = earlier;
        try (NDManager scratch = kept.newSubManager()) {
            NDArray baseRow = Arrays.asList(weights).contains(null) // [1, in, out], a view of Wᵀ
                    ? GatheredFactors.owned(scratch, GatheredFactors.owned(scratch, layer.weight().transpose()).expandDims(0))
                    : null;
            return new MergedRows(kept, RowRuns.pieces(runs(sources),
                    e -> e < sources.size() ? sources.get(e).merged(module) : null,
                    r -> weights[r] == null ? baseRow : weights[r]));
        }
    }

    /**
     * Each row's {@link HostFactors} for {@code layer} ({@code null} on a row its adapter leaves alone), copied one
     * after another, when the layer is float32, its input on the CPU, every adapted row's hook keeps them and some
     * row is adapted; else {@link #NOT_ADAPTED}.
     */
    private Object hostRows(LinearLayer layer, NDArray like) {
        if (layer.halfPrecision() || !HostLowRank.reads(like)) {
            return NOT_ADAPTED;
        }
        HostFactors[] rows = offered(layer.name(), hook -> hook.hostFactors(layer.name()), HostFactors[]::new);
        return rows == null ? NOT_ADAPTED : HostFactors.consecutive(rows);
    }

    /**
     * What each row's adapter offers for {@code module} in {@code form} ({@code null} on a row whose adapter leaves the
     * module alone), or {@code null} when some adapted row's adapter does not offer it or no row is adapted.
     */
    private <T> T[] offered(String module, Function<LowRankHook, T> form, IntFunction<T[]> newArray) {
        T[] rows = newArray.apply(rowHooks.length);
        boolean adapted = false;
        for (int r = 0; r < rowHooks.length; r++) {
            LowRankHook hook = (LowRankHook) rowHooks[r];
            if (hook == null || hook.lowRank(module) == null) {
                continue;
            }
            rows[r] = form.apply(hook);
            if (rows[r] == null) {
                return null;
            }
            adapted = true;
        }
        return adapted ? rows : null;
    }

    /** {@code module}'s stack of merged rows, while this hook is open; else {@code null}. */
    private MergedRows merged(String module) {
        Object built = closed ? null : mergedRows.get(module);
        return built instanceof MergedRows m ? m : null;
    }

    /** {@code module}'s gathered stacks at {@code rank}, while this hook is open; else {@code null}. */
    private GatheredFactors gathered(String module, long rank) {
        Object built = closed ? null : fusedFactors.get(module);
        return built instanceof GatheredFactors g && g.rank() == rank ? g : null;
    }

    /** The siblings' factors side by side when every one of them is gathered, else {@link #NOT_ADAPTED}. */
    private Object siblingFactors(List<String> family, NDArray like) {
        List<GatheredFactors> members = new java.util.ArrayList<>(family.size());
        for (String member : family) {
            if (!(fusedFactors.computeIfAbsent(member, m -> fuse(m, like)) instanceof GatheredFactors g)) {
                return NOT_ADAPTED;
            }
            members.add(g);
        }
        long[] ranks = SiblingFactors.ranksOf(members);
        List<GroupedHook> sources = earlier;
        List<RowRuns.Piece<SiblingFactors, Integer>> pieces = RowRuns.pieces(runs(sources),
                e -> e < sources.size() ? sources.get(e).siblings(family.get(0), ranks) : null, r -> r);
        synchronized (this) {
            return new SiblingFactors(kept, members, pieces);
        }
    }

    /** The siblings' stacks led by {@code first} at these ranks, while this hook is open; else {@code null}. */
    private SiblingFactors siblings(String first, long[] ranks) {
        Object built = closed ? null : siblingFactors.get(first);
        return built instanceof SiblingFactors f && Arrays.equals(f.ranks(), ranks) ? f : null;
    }

    /** The modules whose deltas {@code module}'s call computes with its own (itself first), or none. */
    List<String> fusedWith(String module) {
        return siblingFactors.get(module) instanceof SiblingFactors ? siblings.ledBy(module) : List.of();
    }

    /** How many rows of the siblings' stacks led by {@code first} were built rather than sliced, or −1: none. */
    int stackedSiblingRows(String first) {
        return siblingFactors.get(first) instanceof SiblingFactors f ? f.stackedRows() : -1;
    }

    /**
     * How many of {@code module}'s gathered or merged rows were stacked from their own factors or weights, or −1 when
     * it has no stack.
     */
    int stackedRows(String module) {
        if (mergedRows.get(module) instanceof MergedRows m) {
            return m.stackedRows();
        }
        return fusedFactors.get(module) instanceof GatheredFactors g ? g.stackedRows() : -1;
    }

    /** How a module's output is computed. */
    public enum Path { PER_GROUP, NOT_CALLED_YET, NOT_ADAPTED, MASKED, GATHERED, MERGED, HOST }

    /** Which path {@code module} took (known after its first call). */
    public Path path(String module) {
        if (hostRows.get(module) instanceof HostFactors[]) {
            return Path.HOST;
        }
        if (mergedRows.get(module) instanceof MergedRows) {
            return Path.MERGED;
        }
        Object built = fusedFactors.get(module);
        if (built == null) {
            return fused ? Path.NOT_CALLED_YET : Path.PER_GROUP;
        }
        return built == NOT_ADAPTED ? Path.NOT_ADAPTED : built instanceof GatheredFactors ? Path.GATHERED : Path.MASKED;
    }

    private NDArray applyPerGroup(String module, NDArray input, NDArray baseOutput) {
        NDList parts = new NDList(groups.size());
        boolean inPlace = true;
        long from = 0;
        for (Group group : groups) {
            long to = from + group.rows();
            NDArray rows = baseOutput.get(NDIndex.sliceAxis(0, from, to)); // [b, ..., out], a view
            NDArray out = group.hook() == null ? rows
                    : group.hook().apply(module, input.get(NDIndex.sliceAxis(0, from, to)), rows);
            inPlace &= out == rows;
            parts.add(out);
            from = to;
        }
        if (from != baseOutput.getShape().get(0)) {
            throw new IllegalArgumentException("the groups cover " + from + " rows; the batch has "
                    + baseOutput.getShape().get(0));
        }
        return inPlace ? baseOutput : NDArrays.concat(parts, 0);
    }

    /** Frees the fused factors and masks (hooks made from this one keep the slices they took). */
    @Override
    public synchronized void close() {
        closed = true;
        earlier = List.of(); // no chain of closed hooks kept alive
        if (kept != null) {
            kept.close();
        }
    }

    @Override
    public boolean adapts(String module) {
        return groups.stream().anyMatch(g -> g.hook() != null && g.hook().adapts(module));
    }
}
