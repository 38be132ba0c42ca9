package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

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
 * <p>Only {@link LinearHook#apply} is called: {@link LinearHook#output} overrides (a merged weight in a training
 * pass) would recompute the base for their rows, and inference hooks do not have them. A merged adapter is a model
 * of its own and never shares a batch with its base.
 */
public final class GroupedHook implements LinearHook, AutoCloseable {

    /** {@code rows} consecutive rows of the batch and their hook ({@code null}: the bare base). */
    public record Group(int rows, LinearHook hook) {
    }

    private static final NDArray[] NOT_ADAPTED = new NDArray[0];

    private final List<Group> groups;
    private final boolean fused;
    // module -> {left, right, mask} (masked), a GatheredFactors, or NOT_ADAPTED
    private final Map<String, Object> fusedFactors = new ConcurrentHashMap<>();
    private final LinearHook[] rowHooks; // each row's hook, null for the bare base
    private volatile List<GroupedHook> earlier;
    private List<RowRuns.Run> runs; // this batch's rows as runs of earlier hooks' rows, found at the first gathered module
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
    private List<Object> pieces(String module, long rank) {
        List<GroupedHook> sources = earlier;
        if (runs == null) {
            runs = RowRuns.cover(rowHooks, sources.stream().map(h -> h.rowHooks).toList());
        }
        List<Object> pieces = new java.util.ArrayList<>();
        List<NDArray[]> fresh = new java.util.ArrayList<>();
        for (RowRuns.Run run : runs) {
            GatheredFactors source = run.source() < 0 || run.source() >= sources.size() ? null
                    : sources.get(run.source()).gathered(module, rank);
            if (source == null) {
                for (int r = run.from(); r < run.to(); r++) {
                    fresh.add(rowHooks[r] == null ? null : ((LowRankHook) rowHooks[r]).lowRank(module));
                }
                continue;
            }
            if (!fresh.isEmpty()) {
                pieces.add(new GatheredFactors.Rows(fresh));
                fresh = new java.util.ArrayList<>();
            }
            pieces.add(new GatheredFactors.Slice(source, run.sourceFrom(), run.sourceFrom() + run.to() - run.from()));
        }
        if (!fresh.isEmpty()) {
            pieces.add(new GatheredFactors.Rows(fresh));
        }
        return pieces;
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
        synchronized (this) {
            return new SiblingFactors(kept, members);
        }
    }

    /** The modules whose deltas {@code module}'s call computes with its own (itself first), or none. */
    List<String> fusedWith(String module) {
        return siblingFactors.get(module) instanceof SiblingFactors ? siblings.ledBy(module) : List.of();
    }

    /** How many of {@code module}'s gathered rows were stacked from their own factors, or −1 when not gathered. */
    int stackedRows(String module) {
        return fusedFactors.get(module) instanceof GatheredFactors g ? g.stackedRows() : -1;
    }

    /** How a module's deltas are computed. */
    public enum Path { PER_GROUP, NOT_CALLED_YET, NOT_ADAPTED, MASKED, GATHERED }

    /** Which path {@code module} took (known after its first call). */
    public Path path(String module) {
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
