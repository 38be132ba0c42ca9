package dev.peftd.serving;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.LowRank;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.model.HostFactors;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.LowRankHook;
import dev.peftd.core.model.RowFactorStacks;
import dev.peftd.core.tensor.NoGrad;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An adapter in the one form every method deploys to, {@code ΔW = left·right} per module (LoRA: {@code s·B} and
 * {@code A}; VeRA: its exact rank-r LoRA; Delta-LoRA: its rank-2r LoRA), applied unmerged: the hook adds
 * {@code (x·rightᵀ)·leftᵀ} to the shared base output of each adapted module. Holding only the factors (no
 * dropout, no training state, the scaling folded into {@code left}) keeps the per-token cost at two thin matmuls
 * and an add per module, and makes the hook read-only, so any number of requests may use it at once.
 *
 * <p>When a forward pass is this adapter's alone (one request, or a batch whose rows all use it), a small module goes
 * through a merged weight {@code W + left·right} instead: one GEMM of the base's shape in place of the base GEMM, two
 * thin matmuls and an add. On a model of hidden size 64 a decode step is bound by the count of native calls, not by
 * FLOPs, and those three calls per module are a quarter of the step. The merged weight is a copy of the module's base
 * weight, so it is kept only where it is at most {@link #MERGED_BYTES_PER_FACTOR_BYTE} times the module's factors
 * (a narrow model's modules; a 768-wide module with rank 8 is 48 times, and there the extra calls are a few percent of
 * its GEMM); it is built at the module's first such pass and counted in {@link #bytes()} from the start. The merged
 * output equals the factored one within float rounding (the sum is associated differently). A half base keeps the
 * factored path. A batch of several adapters ({@link dev.peftd.core.model.GroupedHook}) stacks the rows' merged
 * weights of a small module when every adapter there has one ({@link #mergedRow}), else adds each row's factored
 * delta ({@link #lowRank}) to the shared base output; in a decode step on a float32 CPU base it adds a small module's
 * delta in Java from a copy of the factors on the heap ({@link #hostFactors}), also counted in {@link #bytes()}.
 */
final class FactoredAdapter implements LowRankHook, AutoCloseable {

    /** The most a module's merged weight may take, in multiples of its factors' bytes. */
    static final int MERGED_BYTES_PER_FACTOR_BYTE = 8;

    private final NDManager manager;
    private final Map<String, NDArray[]> factors; // module -> {left [out, k], right [k, in]}
    private final Set<String> mergeable;
    private final Map<String, Merged> merged = new ConcurrentHashMap<>(); // module -> W + left·right
    private final Map<String, HostFactors> host = new ConcurrentHashMap<>(); // module -> its factors on the heap
    private final Map<String, List<String>> stackable; // first module -> a fused product's modules, all adapted here
    private final Map<String, RowFactorStacks> blockStacks = new ConcurrentHashMap<>(); // first module -> its stacks
    private final boolean hostable; // a float32 base on the CPU: small modules may keep HostFactors
    private final long factorBytes;
    private final String method;
    private final int maxRank;
    private final long bytes;
    private final boolean halfBase;

    private FactoredAdapter(NDManager manager, Map<String, NDArray[]> factors, String method, boolean halfBase,
            List<List<String>> fusedProducts) {
        this.manager = manager;
        this.halfBase = halfBase;
        this.hostable = !halfBase && manager.getDevice().getDeviceType().equals(ai.djl.Device.Type.CPU);
        this.factors = Collections.unmodifiableMap(factors);
        this.method = method;
        int rank = 0;
        long total = 0;
        long mergedTotal = 0;
        long hostTotal = 0;
        Set<String> small = new java.util.HashSet<>();
        for (Map.Entry<String, NDArray[]> e : factors.entrySet()) {
            NDArray[] f = e.getValue();
            rank = Math.max(rank, (int) f[1].getShape().get(0));
            long own = f[0].size() + f[1].size();
            long weight = f[0].getShape().get(0) * f[1].getShape().get(1); // out · in
            total += own * f[0].getDataType().getNumOfBytes();
            if (!halfBase && weight <= MERGED_BYTES_PER_FACTOR_BYTE * own) {
                small.add(e.getKey());
                mergedTotal += weight * f[0].getDataType().getNumOfBytes();
                if (hostable) {
                    hostTotal += HostFactors.bytes(f[1].getShape().get(1), f[0].getShape().get(0),
                            (int) f[1].getShape().get(0));
                }
            }
        }
        this.maxRank = rank;
        this.factorBytes = total;
        Map<String, List<String>> products = new HashMap<>();
        long stacksTotal = 0;
        for (List<String> product : halfBase ? fusedProducts : List.<List<String>>of()) {
            if (factors.keySet().containsAll(product)) {
                products.put(product.get(0), List.copyOf(product));
                stacksTotal += RowFactorStacks.oneAdapterBytes(product.stream().map(factors::get).toList());
            }
        }
        this.stackable = Map.copyOf(products);
        this.bytes = total + mergedTotal + hostTotal + stacksTotal;
        this.mergeable = Set.copyOf(small);
    }

    /**
     * Reads a PEFT LoRA or VeRA directory against {@code base} (every key, shape and target module is checked by
     * the importer, which names the offending tensor) and keeps only its factors, on the base model's device.
     */
    public static FactoredAdapter load(Path adapterDir, LoadedBase base) throws IOException {
        // serving threads may start with grad mode on; nothing here is trained
        try (NoGrad ignored = NoGrad.enter();
             AbstractAdapter adapter = PeftImporter.load(adapterDir, base.model().linears())) {
            return fromAdapter(adapter, base.model().fusedProducts());
        }
    }

    /**
     * Takes the deployed factors of any adapter (which the caller still owns and closes).
     *
     * @param fusedProducts the base's fused blocks' products ({@code CausalLm.fusedProducts}): those whose every
     *                      module this adapter adapts get its one-row stacks, counted in {@link #bytes()}
     */
    static FactoredAdapter fromAdapter(AbstractAdapter adapter, List<List<String>> fusedProducts) {
        NDManager manager = NDManager.newBaseManager(
                adapter.baseLinear(adapter.modules().get(0)).device());
        Map<String, NDArray[]> factors = new LinkedHashMap<>();
        try {
            for (String module : adapter.modules()) {
                LowRank f = adapter.deltaFactors(module);
                f.left().attach(manager);   // [out, k]
                f.right().attach(manager);  // [k, in]
                factors.put(module, new NDArray[] {f.left(), f.right()});
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        boolean halfBase = adapter.baseLinear(adapter.modules().get(0)).halfPrecision();
        return new FactoredAdapter(manager, factors, adapter.method().id(), halfBase, fusedProducts);
    }

    /**
     * @param input      {@code [..., in]}
     * @param baseOutput {@code [..., out]}, this request's own array: the delta is added in place, except on a half
     *                   base, whose output comes out of a TorchScript call made in libtorch's inference mode, which
     *                   refuses an in-place add outside it (there the delta goes into a new array)
     */
    @Override
    public NDArray apply(String module, NDArray input, NDArray baseOutput) {
        NDArray[] f = factors.get(module);
        if (f == null) {
            return baseOutput;
        }
        NDArray down = ai.djl.nn.core.Linear.linear(input, f[1]).singletonOrThrow(); // [..., k]
        NDArray up = ai.djl.nn.core.Linear.linear(down, f[0]).singletonOrThrow();    // [..., out]
        return halfBase ? baseOutput.add(up) : baseOutput.addi(up);
    }

    /**
     * On a half base, this adapter's factors of a block's products as one-row stacks ({@link RowFactorStacks}, built
     * at the first pass that asks, then kept; counted in {@link #bytes()} from the start), so that a half block whose
     * rows are all this adapter's adds the deltas inside its two fused calls instead of running ~25 calls op by op;
     * {@code null} on a float32 base or when a product has a module this adapter leaves alone (only the base's fused
     * products that it adapts whole were counted).
     */
    @Override
    public List<RowFactorStacks> rowFactorStacks(List<List<String>> products, NDArray like) {
        List<RowFactorStacks> stacks = new ArrayList<>(products.size());
        for (List<String> modules : products) {
            if (!modules.equals(stackable.get(modules.get(0)))) {
                return null; // not a product this adapter adapts whole (or not counted): the block runs op by op
            }
            stacks.add(blockStacks.computeIfAbsent(modules.get(0), m -> stacksOf(modules)));
        }
        return stacks;
    }

    private RowFactorStacks stacksOf(List<String> modules) {
        try (NoGrad ignored = NoGrad.enter()) {
            return RowFactorStacks.ofOneAdapter(modules.stream().map(factors::get).toList(), manager);
        }
    }

    /**
     * This adapter's whole output of {@code layer}: through the merged weight where the module is small enough (see
     * the class comment), else the base output plus the factored delta.
     *
     * @param input {@code [..., in]}
     * @return {@code [..., out]}
     */
    @Override
    public NDArray output(LinearLayer layer, NDArray input) {
        NDArray weight = mergedWeight(layer); // [out, in]
        if (weight == null) {
            return apply(layer.name(), input, layer.baseOutput(input));
        }
        return input.getNDArrayInternal().linear(input, weight, layer.bias()).singletonOrThrow();
    }

    /** {@code W + left·right} {@code [out, in]} for a small module (built at its first use, then kept), else null. */
    private NDArray mergedWeight(LinearLayer layer) {
        Merged m = merged(layer);
        return m == null ? null : m.weight();
    }

    /** {@code (W + left·right)ᵀ} {@code [1, in, out]}, contiguous, for a small module; else null. */
    @Override
    public NDArray mergedRow(LinearLayer layer) {
        Merged m = merged(layer);
        return m == null ? null : m.row();
    }

    private Merged merged(LinearLayer layer) {
        if (!mergeable.contains(layer.name())) {
            return null;
        }
        return merged.computeIfAbsent(layer.name(), module -> merge(layer, factors.get(module)));
    }

    /**
     * A merged weight, held once in the layout of a {@link dev.peftd.core.model.GroupedHook} stack's row.
     *
     * @param row    {@code [1, in, out]}, contiguous: the storage
     * @param weight {@code [out, in]}, a transposed view of it, for this adapter's own linear
     */
    private record Merged(NDArray row, NDArray weight) {
    }

    /** @return {@code W + left·right} as a {@link Merged}, owned by this adapter */
    private Merged merge(LinearLayer layer, NDArray[] f) {
        try (NoGrad ignored = NoGrad.enter()) {
            long out = f[0].getShape().get(0);
            long in = f[1].getShape().get(1);
            NDArray row = LowRankHook.mergedRowOf(layer.weight(), f[0], f[1]); // [1, in, out], contiguous
            NDArray weight;                                                    // [out, in], a view of row
            try (NDArray square = row.reshape(in, out)) {                      // [in, out], a view of row
                weight = square.transpose();
            }
            for (NDArray kept : new NDArray[] {row, weight}) {
                NDScope.unregister(kept); // outlives the forward call that built it
                kept.attach(manager);
            }
            return new Merged(row, weight);
        }
    }

    /**
     * A small module's factors as Java arrays for {@link dev.peftd.core.model.GroupedHook}'s Java deltas (built at the
     * first batch that asks, then kept; counted in {@link #bytes()} from the start), on a float32 CPU base; else null.
     */
    @Override
    public HostFactors hostFactors(String module) {
        if (!hostable) {
            return null;
        }
        NDArray[] f = factors.get(module);
        return f == null || !mergeable.contains(module) ? null
                : host.computeIfAbsent(module, m -> HostFactors.of(f[0], f[1]));
    }

    /** Whether {@code module}'s merged weight has been built (by a forward pass this adapter had to itself). */
    boolean holdsMergedWeight(String module) {
        return merged.containsKey(module);
    }

    /** {@code {left [out, k], right [k, in]}}, the scaling folded into left; {@code null} when not adapted. */
    @Override
    public NDArray[] lowRank(String module) {
        return factors.get(module);
    }

    /** The adapted module names, in the model's order. */
    public java.util.Set<String> modules() {
        return factors.keySet();
    }

    /** The first module (in the model's order) whose factors hold NaN or ±Inf, if any. */
    public java.util.Optional<String> firstNonFiniteModule() {
        for (Map.Entry<String, NDArray[]> e : factors.entrySet()) {
            for (NDArray f : e.getValue()) {
                try {
                    AbstractAdapter.requireFinite(e.getKey(), f);
                } catch (IllegalStateException nonFinite) {
                    return java.util.Optional.of(e.getKey());
                }
            }
        }
        return java.util.Optional.empty();
    }

    /** PEFT method id of the source adapter ({@code lora}, {@code vera}, …). */
    public String method() {
        return method;
    }

    /** The largest inner dimension over the modules (LoRA's r, Delta-LoRA's 2r). */
    public int maxRank() {
        return maxRank;
    }

    /**
     * Memory this adapter may take: its factors plus the merged weights of its small modules and, on a float32 CPU
     * base, their factors' Java copies, or on a half base its block stacks (each built when first used), what the
     * adapter cache's budget counts.
     */
    public long bytes() {
        return bytes;
    }

    /** Device memory the factors take: the adapter's own size. */
    public long factorBytes() {
        return factorBytes;
    }

    @Override
    public void close() {
        manager.close();
    }
}
