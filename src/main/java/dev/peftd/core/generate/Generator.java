package dev.peftd.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.KvCache;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.tensor.NoGrad;
import dev.peftd.core.tokenizer.Tokenizer;
import java.util.function.BooleanSupplier;

/**
 * Continues a prompt with a {@link CausalLm}, one sequence at a time, using its KV cache: the prompt runs once
 * (prefill), then each step feeds only the newest token. Every step's arrays live in an {@link NDScope} that is
 * closed before the next step, so native memory stays flat however long the generation (the cache keeps what it
 * needs itself). Safe to use from several threads at once on one shared model: all state is per call.
 */
public final class Generator {

    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final long[] defaultStopIds;

    /**
     * Stops by default at config.json's and the tokenizer's EOS ids; {@link #forModelDirectory} adds
     * generation_config.json's.
     *
     * @param tokenizer decodes the text (and is needed for stop strings and logprob token texts); may be {@code null}
     */
    public Generator(CausalLm model, Tokenizer tokenizer) {
        this(model, tokenizer, null);
    }

    private Generator(CausalLm model, Tokenizer tokenizer, long[] defaultStopIds) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.defaultStopIds = defaultStopIds != null ? defaultStopIds : StopTokens.of(model.config(), tokenizer);
    }

    /** A generator whose default stop ids are all of {@link StopTokens#forModel} (generation_config.json included). */
    public static Generator forModelDirectory(java.nio.file.Path modelDirectory, CausalLm model, Tokenizer tokenizer) {
        return new Generator(model, tokenizer, StopTokens.forModel(modelDirectory, model.config(), tokenizer));
    }

    public GenerationResult generate(long[] promptIds, GenerationOptions options) {
        return generate(promptIds, options, null, TokenListener.NONE);
    }

    /**
     * @param hook     adapter deltas applied to the model's linear layers (or {@code null})
     * @param listener called once per generated token, before the next one is computed
     */
    public GenerationResult generate(long[] promptIds, GenerationOptions options, LinearHook hook, TokenListener listener) {
        return generate(promptIds, options, hook, listener, () -> false);
    }

    /**
     * @param stopRequested asked before every forward step; once it answers {@code true} generation ends there as if
     *                      {@code maxTokens} had been reached (finish reason {@link FinishReason#LENGTH}), so a caller
     *                      can bound a generation by time or end it when nobody waits for it any more
     */
    public GenerationResult generate(long[] promptIds, GenerationOptions options, LinearHook hook, TokenListener listener,
                                     BooleanSupplier stopRequested) {
        ModelConfig config = model.config();
        validatePrompt(promptIds, config);
        Decoding decoding = new Decoding(promptIds, options, defaultStopIds, tokenizer, listener);
        // inference: no autograd graph, even if an adapter's tensors require grad
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             KvCache cache = model.newCache()) {
            long[] input = promptIds;
            while (decoding.wantsMore() && cache.length() + input.length <= contextWindow(config)
                    && !stopRequested.getAsBoolean()) {
                if (decoding.accept(nextTokenLogits(manager, input, cache, hook))) {
                    break;
                }
                input = new long[] {decoding.lastToken()};
            }
            decoding.endEarly(); // stopped by the context window or on request: release what was held back
        }
        return decoding.result();
    }

    /** Runs {@code input} ({@code [1, T]}) through the model and copies the last position's logits to the heap. */
    private float[] nextTokenLogits(NDManager manager, long[] input, KvCache cache, LinearHook hook) {
        try (NDScope step = new NDScope()) {
            NDArray ids = manager.create(input, new Shape(1, input.length)); // [1, T] int64
            NDArray logits = model.forward(ids, cache, hook);                // [1, T, vocab]
            return logits.get(new NDIndex(0, input.length - 1)).toFloatArray(); // [vocab]
        }
    }

    /**
     * Learned position embeddings (GPT-2) end at max_position_embeddings; rotary models can run past what they
     * were trained on (quality degrades, nothing breaks), as transformers lets them.
     */
    static int contextWindow(ModelConfig config) {
        boolean learnedPositions = config.rope() == null;
        return learnedPositions && config.maxPositionEmbeddings() > 0 ? config.maxPositionEmbeddings() : Integer.MAX_VALUE;
    }

    static void validatePrompt(long[] promptIds, ModelConfig config) {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token (e.g. the BOS token)");
        }
        for (long id : promptIds) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
        if (promptIds.length >= contextWindow(config)) {
            throw new IllegalArgumentException("the prompt has " + promptIds.length + " tokens; the model's context window is "
                    + config.maxPositionEmbeddings() + " (leave room for at least one generated token)");
        }
    }
}
