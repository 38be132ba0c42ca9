package dev.peftd.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.GroupedHook;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.model.PagedKvCache;
import dev.peftd.core.tensor.NoGrad;
import dev.peftd.core.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Generates for many sequences at once on one model with continuous (iteration-level) batching: one loop thread owns
 * every forward pass; sequences join the running batch and leave it at token boundaries.
 *
 * <p>Each loop iteration (1) admits waiting sequences, first come first served, while the batch has fewer than
 * {@code maxRows} rows and the {@link PagedKvCache} has the blocks for the head of the queue's prompt plus its
 * {@code maxTokens} (otherwise the queue waits, in order, until running sequences end and give their blocks back);
 * (2) prefills every newly admitted prompt in one forward pass, right-padded to the longest (each row's padding
 * goes to the cache's padding block and its outputs are ignored; causal attention never lets a real token see a
 * later one), which also gives each its first token; (3) runs one decode step for every running sequence, each at
 * its own position with an attention mask over its own history. Sequences whose stop condition is met leave before
 * the next step. In each forward pass the rows are ordered by adapter, and a {@link GroupedHook} runs every base
 * GEMM once for the batch and adds each adapter's delta to its own rows only.
 *
 * <p>Memory: the cache is allocated once, at the first submission, with {@code cacheBytes / bytesPerPosition}
 * positions in blocks of {@code blockSize} (no more than {@code maxRows} full contexts); a sequence's blocks are
 * reserved whole at admission, so a running sequence never runs out. One that needs more positions than the whole
 * cache is refused at {@link #submit} ({@link CacheBudgetException}).
 *
 * <p>Sampling, logprobs, stop ids and stop strings are per sequence ({@link Decoding}, as {@link Generator}), so a
 * sequence's tokens do not depend on what else is in the batch beyond float rounding of the batched GEMMs.
 */
public final class BatchDecoder implements AutoCloseable {

    /**
     * @param maxRows     most sequences in one forward pass
     * @param cacheBytes  the KV cache's budget
     * @param blockSize   positions per cache block
     * @param passThreads the intra-op threads each forward pass computes with
     */
    public record Limits(int maxRows, long cacheBytes, int blockSize, PassThreads passThreads) {
        public Limits {
            if (maxRows < 1 || cacheBytes < 1 || blockSize < 1) {
                throw new IllegalArgumentException("batch limits must be positive, got rows " + maxRows
                        + ", cache bytes " + cacheBytes + ", block size " + blockSize);
            }
            Objects.requireNonNull(passThreads, "passThreads");
        }

        /** Threads chosen by each pass's size ({@link PassThreads#AUTO}). */
        public Limits(int maxRows, long cacheBytes, int blockSize) {
            this(maxRows, cacheBytes, blockSize, PassThreads.BY_SIZE);
        }
    }

    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final long[] defaultStopIds;
    private final Limits limits;
    private final BatchObserver observer;
    private final int cacheBlocks;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Deque<Row> waiting = new ArrayDeque<>();
    private final List<Row> running = new ArrayList<>();
    private Thread loop;
    private PagedKvCache cache;
    private GroupedHook decodeHook;  // the loop thread's: the last decode step's
    private GroupedHook prefillHook; // the last prefill's, until a decode hook has taken its rows' stacks
    private final List<GroupedHook> retired = new ArrayList<>(); // closed after the next forward pass
    private volatile boolean closed;

    /** @param tokenizer decodes text (needed for stop strings and logprob token texts); may be {@code null} */
    public BatchDecoder(CausalLm model, Tokenizer tokenizer, long[] defaultStopIds, Limits limits, BatchObserver observer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.defaultStopIds = defaultStopIds.clone();
        this.limits = limits;
        this.observer = observer;
        ModelConfig config = model.config();
        // a half model's cache holds 2 bytes a value: the same budget holds twice the positions
        long positions = Math.max(1, limits.cacheBytes() / PagedKvCache.bytesPerPosition(config, model.halfType()));
        long useful = (long) limits.maxRows() * Math.max(1, config.maxPositionEmbeddings());
        this.cacheBlocks = (int) Math.max(1, Math.min(Math.min(positions, useful), Integer.MAX_VALUE / 2) / limits.blockSize());
    }

    /** The most positions one sequence's prompt plus max tokens may need (the whole cache). */
    public int capacityPositions() {
        return cacheBlocks * limits.blockSize();
    }

    /**
     * One sequence to queue.
     *
     * @param hook          this sequence's adapter, or {@code null}; rows with the same hook share its group
     * @param listener      hears each token on the loop's thread (keep it quick: the whole batch waits for it); if it
     *                      throws, only this sequence ends and its future completes with that exception
     * @param stopRequested asked before each of this sequence's steps (first at admission); {@code true} ends it there
     *                      as if {@code maxTokens} had been reached
     */
    public record Submission(long[] promptIds, GenerationOptions options, LinearHook hook, TokenListener listener,
                             BooleanSupplier stopRequested) {
    }

    /**
     * Queues a sequence; returns at once.
     *
     * @throws IllegalArgumentException a bad prompt; {@link CacheBudgetException} when it could never fit the cache
     */
    public CompletableFuture<GenerationResult> submit(long[] promptIds, GenerationOptions options, LinearHook hook,
                                                      TokenListener listener, BooleanSupplier stopRequested) {
        return submitAll(List.of(new Submission(promptIds, options, hook, listener, stopRequested))).get(0);
    }

    /**
     * Queues several sequences at once, in order: the loop sees all of them at its next admission, so (room allowing)
     * they are prefilled in one pass and the batch's composition does not depend on thread timing. Every submission is
     * checked before any is queued.
     *
     * @return one future per submission, in order
     * @throws IllegalArgumentException a bad prompt; {@link CacheBudgetException} when one could never fit the cache
     */
    public List<CompletableFuture<GenerationResult>> submitAll(List<Submission> submissions) {
        List<Row> rows = submissions.stream().map(this::row).toList();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("this model is being unloaded");
            }
            if (loop == null) {
                loop = new Thread(this::run, "peftd-batch-" + model.config().architecture());
                loop.setDaemon(true);
                loop.start();
            }
            waiting.addAll(rows);
            work.signal();
        } finally {
            lock.unlock();
        }
        return rows.stream().map(row -> row.future).toList();
    }

    private Row row(Submission s) {
        ModelConfig config = model.config();
        Generator.validatePrompt(s.promptIds(), config);
        Decoding decoding = new Decoding(s.promptIds(), s.options(), defaultStopIds, tokenizer, s.listener());
        int positions = (int) Math.min((long) s.promptIds().length + s.options().maxTokens(),
                Generator.contextWindow(config));
        if (positions > capacityPositions()) {
            throw new CacheBudgetException(positions, capacityPositions());
        }
        return new Row(s.promptIds().clone(), decoding, s.hook(), s.stopRequested(), positions);
    }

    /**
     * Device bytes the KV cache holds once it is made (at the first submission, then until {@link #close}): every
     * block, the padding block included; what a memory budget must count for this decoder besides the model.
     */
    public long cacheBytes() {
        return PagedKvCache.bytes(model.config(), model.halfType(), cacheBlocks, limits.blockSize());
    }

    /** Sequences waiting for admission. */
    public int waiting() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /** The cache, once the loop has made it (for tests: its storage never changes). */
    PagedKvCache cache() {
        return cache;
    }

    private void run() {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager()) {
            cache = model.newPagedCache(cacheBlocks, limits.blockSize());
            while (!closed) {
                List<Row> admitted = admit();
                if (admitted == null) {
                    continue;
                }
                if (!admitted.isEmpty()) {
                    prefill(manager, admitted);
                }
                endStopped();
                if (!running.isEmpty()) {
                    decode(manager);
                }
            }
        } catch (RuntimeException | Error e) {
            failAll(e);
            throw e;
        } finally {
            failAll(new IllegalStateException("this model was unloaded"));
            retire(decodeHook);
            retire(prefillHook);
            closeRetired();
            if (cache != null) {
                cache.close();
            }
        }
    }

    /** @return newly admitted rows (maybe none), or {@code null} after waiting idle for work */
    private List<Row> admit() {
        List<Row> admitted = new ArrayList<>();
        lock.lock();
        try {
            if (waiting.isEmpty() && running.isEmpty()) {
                if (!closed) {
                    work.awaitUninterruptibly();
                }
                return null;
            }
            while (!waiting.isEmpty() && running.size() + admitted.size() < limits.maxRows()) {
                Row head = waiting.peek();
                int[] table = cache.allocate(head.positions);
                if (table == null) {
                    break; // the queue waits, in order, until running sequences give blocks back
                }
                waiting.poll();
                head.table = table;
                admitted.add(head);
            }
        } finally {
            lock.unlock();
        }
        long now = System.nanoTime();
        admitted.forEach(row -> observer.admitted(now - row.queuedAt));
        return admitted;
    }

    private void prefill(NDManager manager, List<Row> admitted) {
        List<Row> rows = new ArrayList<>();
        for (Row row : admitted) {
            if (row.stopRequested.getAsBoolean()) {
                finish(row);
            } else {
                rows.add(row);
            }
        }
        if (rows.isEmpty()) {
            return;
        }
        List<GroupedHook.Group> groups = grouped(rows);
        int length = rows.stream().mapToInt(r -> r.prompt.length).max().orElseThrow();
        long[] ids = new long[rows.size() * length]; // right-padded with token 0
        int[][] tables = new int[rows.size()][];
        int[] lengths = new int[rows.size()];
        long[] last = new long[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            System.arraycopy(row.prompt, 0, ids, r * length, row.prompt.length);
            tables[r] = row.table;
            lengths[r] = row.prompt.length;
            last[r] = (long) r * length + row.prompt.length - 1;
        }
        Choices logits = forward(manager, rows, groups, ids, tables, new int[rows.size()], lengths, length, last, true);
        if (logits == null) {
            return; // the pass failed: every row of it has ended with the error
        }
        for (int r = 0; r < rows.size(); r++) {
            rows.get(r).length = rows.get(r).prompt.length;
        }
        running.addAll(rows);
        accept(rows, logits);
    }

    private void decode(NDManager manager) {
        List<Row> rows = new ArrayList<>(running);
        List<GroupedHook.Group> groups = grouped(rows);
        long[] ids = new long[rows.size()];
        int[][] tables = new int[rows.size()][];
        int[] starts = new int[rows.size()];
        int[] ones = new int[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            ids[r] = row.decoding.lastToken();
            tables[r] = row.table;
            starts[r] = row.length;
            ones[r] = 1;
        }
        Choices logits = forward(manager, rows, groups, ids, tables, starts, ones, 1, null, false);
        rows.forEach(row -> row.length++);
        if (logits != null) {
            accept(rows, logits);
        }
    }

    /**
     * One forward pass; on failure every row in it ends with the error.
     *
     * @param last where each row's next-token position is in the flattened {@code [B·T]} positions, or {@code null}
     *             for a decode step (T = 1)
     * @return each row's next-token logits or greedy choice, or {@code null} when the pass failed
     */
    private Choices forward(NDManager manager, List<Row> rows, List<GroupedHook.Group> groups, long[] ids,
                              int[][] tables, int[] starts, int[] lengths, int length, long[] last, boolean prefill) {
        long begin = System.nanoTime();
        int batch = rows.size();
        GroupedHook grouped = groups.size() == 1 ? null : groupedHook(groups, prefill);
        LinearHook hook = grouped == null ? groups.get(0).hook() : grouped;
        limits.passThreads().applyTo(model.config(), (long) batch * length);
        try (NDScope step = new NDScope()) {
            NDArray input = manager.create(ids, new Shape(batch, length)); // [B, T] int64
            PagedKvCache.Step kv = cache.step(tables, starts, lengths, length, input.getDevice());
            NDArray hidden = model.stepHidden(input, kv, hook); // [B, T, hidden]
            NDArray next = last == null ? hidden.reshape(batch, -1) // [B, hidden]
                    : hidden.reshape((long) batch * length, -1).get(new NDIndex("{}",
                            manager.create(last, new Shape(batch)).toDevice(hidden.getDevice(), false))); // [B, hidden]
            Choices choices = choices(manager, model.outputHead(next, hook), rows); // from [B, vocab]
            observer.step(batch, prefill);
            observer.generated(batch, System.nanoTime() - begin);
            return choices;
        } catch (RuntimeException e) {
            rows.forEach(row -> fail(row, e));
            return null;
        } finally {
            closeRetired();
        }
    }

    /**
     * The hook for a step over several groups. Decode steps reuse the last one while the groups stay the same (its
     * fused adapter factors are built once); a prefill's is its own. A new hook takes the stacked factors of rows it
     * shares with the last decode hook and the last prefill's ({@link GroupedHook#GroupedHook(List, List)}): rows
     * that keep running, or that were just prefilled, are not stacked again. Hooks it replaces are closed after its
     * first pass.
     */
    private GroupedHook groupedHook(List<GroupedHook.Group> groups, boolean prefill) {
        if (!prefill && decodeHook != null && decodeHook.sameGroups(groups)) {
            return decodeHook;
        }
        List<GroupedHook> earlier = new ArrayList<>(2);
        if (decodeHook != null) {
            earlier.add(decodeHook);
        }
        if (prefillHook != null) {
            earlier.add(prefillHook);
        }
        GroupedHook hook = new GroupedHook(groups, earlier);
        if (prefill) {
            retire(prefillHook);
            prefillHook = hook;
        } else {
            retire(decodeHook);
            retire(prefillHook);
            prefillHook = null;
            decodeHook = hook;
        }
        return hook;
    }

    private void retire(GroupedHook hook) {
        if (hook != null) {
            retired.add(hook);
        }
    }

    private void closeRetired() {
        retired.forEach(GroupedHook::close);
        retired.clear();
    }

    /**
     * Each row's next-token input: row {@code r}'s logits {@code [vocab]} when it samples or reports logprobs
     * ({@code logits[r]}), else only the first index of its largest logit ({@code argmax[r]}).
     */
    private record Choices(float[][] logits, long[] argmax) {
    }

    /**
     * Copies to the heap only the logits of rows that need them; greedy rows without logprobs get torch.argmax
     * (the first index of the maximum, as {@link TokenSampler#argmax}), so a batch of 16 greedy rows moves 16 longs
     * instead of 16 × vocab floats and scans nothing in Java.
     *
     * @param head {@code [B, vocab]}
     */
    private static Choices choices(NDManager manager, NDArray head, List<Row> rows) {
        int batch = rows.size();
        long[] needing = java.util.stream.IntStream.range(0, batch).filter(r -> rows.get(r).decoding.needsLogits())
                .asLongStream().toArray();
        long[] argmax = needing.length < batch ? head.argMax(1).toLongArray() : null; // [B]
        float[][] logits = new float[batch][];
        if (needing.length > 0) {
            NDArray wanted = needing.length == batch ? head
                    : head.get(new NDIndex("{}", manager.create(needing).toDevice(head.getDevice(), false))); // [n, vocab]
            float[] flat = wanted.toFloatArray();
            int vocab = flat.length / needing.length;
            for (int i = 0; i < needing.length; i++) {
                logits[(int) needing[i]] = java.util.Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
            }
        }
        return new Choices(logits, argmax);
    }

    /** Each row takes its token; rows that ended (or whose listener threw) leave the batch. */
    private void accept(List<Row> rows, Choices choices) {
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            try {
                float[] logits = choices.logits()[r];
                if (logits != null ? row.decoding.accept(logits) : row.decoding.acceptArgmax((int) choices.argmax()[r])) {
                    finish(row);
                }
            } catch (RuntimeException e) {
                fail(row, e);
            }
        }
    }

    /** Rows that asked to stop, or whose next position would pass the context window, end before the next step. */
    private void endStopped() {
        int window = Generator.contextWindow(model.config());
        for (Row row : new ArrayList<>(running)) {
            if (!row.decoding.wantsMore() || row.length + 1 > window || row.stopRequested.getAsBoolean()) {
                finish(row);
            }
        }
    }

    /** Rows in order of their hook, each hook's rows consecutive; the groups for {@link GroupedHook}. */
    private static List<GroupedHook.Group> grouped(List<Row> rows) {
        Map<LinearHook, Integer> order = new IdentityHashMap<>();
        int nullOrder = -1;
        for (Row row : rows) {
            if (row.hook == null) {
                nullOrder = nullOrder < 0 ? order.size() + 1_000_000 : nullOrder;
            } else {
                order.putIfAbsent(row.hook, order.size());
            }
        }
        int baseOrder = nullOrder;
        rows.sort(Comparator.comparingInt(row -> row.hook == null ? baseOrder : order.get(row.hook)));
        List<GroupedHook.Group> groups = new ArrayList<>();
        int from = 0;
        for (int r = 1; r <= rows.size(); r++) {
            if (r == rows.size() || rows.get(r).hook != rows.get(from).hook) {
                groups.add(new GroupedHook.Group(r - from, rows.get(from).hook));
                from = r;
            }
        }
        return groups;
    }

    private void finish(Row row) {
        try {
            row.decoding.endEarly();
            leave(row);
            row.future.complete(row.decoding.result());
        } catch (RuntimeException e) {
            fail(row, e);
        }
    }

    private void fail(Row row, Throwable e) {
        leave(row);
        row.future.completeExceptionally(e);
    }

    private void leave(Row row) {
        running.remove(row);
        if (row.table != null) {
            cache.release(row.table);
            row.table = null;
        }
    }

    private void failAll(Throwable e) {
        List<Row> all = new ArrayList<>(running);
        lock.lock();
        try {
            all.addAll(waiting);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        for (Row row : all) {
            running.remove(row);
            row.future.completeExceptionally(e);
        }
    }

    /** Stops the loop after its current step; sequences still running or waiting fail. */
    @Override
    public void close() {
        Thread thread;
        lock.lock();
        try {
            closed = true;
            work.signal();
            thread = loop;
        } finally {
            lock.unlock();
        }
        if (thread != null && thread != Thread.currentThread()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** One sequence in the batch: its prompt, its decoding state and its place in the cache. */
    private static final class Row {
        final long[] prompt;
        final Decoding decoding;
        final LinearHook hook;
        final BooleanSupplier stopRequested;
        final int positions;
        final long queuedAt = System.nanoTime();
        final CompletableFuture<GenerationResult> future = new CompletableFuture<>();
        int[] table;
        int length;

        Row(long[] prompt, Decoding decoding, LinearHook hook, BooleanSupplier stopRequested, int positions) {
            this.prompt = prompt;
            this.decoding = decoding;
            this.hook = hook;
            this.stopRequested = stopRequested;
            this.positions = positions;
        }
    }
}
