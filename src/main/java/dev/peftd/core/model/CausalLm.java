package dev.peftd.core.model;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.tensor.HalfType;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only language model loaded from a Hugging Face checkpoint, computing what transformers computes.
 *
 * <p>The model's own weights are frozen and shared: adapters never replace modules inside it. Instead every
 * forward call takes a {@link LinearHook} (or {@code null}) that may add a delta to the output of any named
 * linear layer. That keeps one base model safe to use from many threads with different adapters at once.
 *
 * <p>Memory: a forward call frees every intermediate array before it returns. The logits belong to the manager of
 * {@code inputIds} and to the caller's {@link ai.djl.ndarray.NDScope}, if one is open; a {@link KvCache} holds its
 * arrays until it is closed. Training works through it: base weights never require gradients, and gradients reach
 * adapter tensors that the hook brings in.
 */
public interface CausalLm extends AutoCloseable {

    ModelConfig config();

    /**
     * @param inputIds token ids, int64 {@code [B, T]}
     * @param cache    keys/values of earlier positions (positions continue after {@code cache.length()}), or
     *                 {@code null} to run the sequence from position 0 without keeping anything
     * @param hook     adds adapter deltas to linear outputs, or {@code null} for the bare base model
     * @return logits, float32 {@code [B, T, vocab]}
     */
    NDArray forward(NDArray inputIds, KvCache cache, LinearHook hook);

    /**
     * The body without the output head, for callers that apply the head in pieces (a chunked loss never holds the
     * full {@code [B, T, vocab]} logits). {@code outputHead(hiddenStates(ids, hook), hook)} equals
     * {@code forward(ids, null, hook)}.
     *
     * @param inputIds token ids, int64 {@code [B, T]}, from position 0
     * @return the final norm's output, float32 {@code [B, T, hidden]}
     */
    NDArray hiddenStates(NDArray inputIds, LinearHook hook);

    /**
     * {@link #hiddenStates} with the autograd graph cut between decoder layers, for training: backpropagate with
     * {@link LayerSegments#backward}, then close it. A hook that is a {@link LayerSegmentListener} hears of every
     * layer boundary in both directions.
     */
    LayerSegments segmentedHiddenStates(NDArray inputIds, LinearHook hook);

    /**
     * @param hidden float32 {@code [..., hidden]} (rows of {@link #hiddenStates})
     * @return logits, float32 {@code [..., vocab]}
     */
    NDArray outputHead(NDArray hidden, LinearHook hook);

    /**
     * The half type the model's weights are held and computed in, or {@code null} for float32; its KV caches keep
     * keys and values in it too ({@link PagedKvCache#bytesPerPosition}).
     */
    HalfType halfType();

    /** A fresh, empty cache for incremental decoding with this model. */
    KvCache newCache();

    /**
     * One step of many sequences at once: row {@code r} continues its own sequence at its own position, with its
     * keys and values in the step's paged cache (see {@link PagedKvCache}).
     *
     * @param inputIds int64 {@code [B, T]}, rows right-padded to T (the step says how many tokens of each are real)
     * @param hook     applied to every row ({@code GroupedHook} gives each row's group its own adapter)
     * @return the final norm's output, float32 {@code [B, T, hidden]} (padding positions hold garbage)
     */
    NDArray stepHidden(NDArray inputIds, PagedKvCache.Step step, LinearHook hook);

    /**
     * Storage for many sequences' keys and values, allocated once ({@link PagedKvCache}).
     *
     * @param blocks    blocks sequences may hold
     * @param blockSize positions per block
     */
    PagedKvCache newPagedCache(int blocks, int blockSize);

    /**
     * Every linear layer an adapter may target, keyed by its Hugging Face module name
     * (e.g. {@code model.layers.0.self_attn.q_proj}), in checkpoint order. The output head is included under its
     * HF name ({@code lm_head}); callers decide whether to exclude it.
     */
    Map<String, Linear> linears();

    /**
     * The products of the blocks that run as fused calls without gradient (a half Llama-style model), each as its
     * modules in the order their weights are stacked ({@link LinearHook#rowFactorStacks} is asked for them); empty
     * when no block does.
     */
    default List<List<String>> fusedProducts() {
        return List.of();
    }

    /** Bytes of device memory the loaded weights hold (what freeing the model gives back), counted once at load. */
    long parameterBytes();

    @Override
    void close();
}
