package dev.peftd.core.generate;

import dev.peftd.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One sequence's side of generation, whatever computes its logits: samples each next token, records its logprob,
 * applies stop tokens and stop strings to the text stream and tells the listener. {@link Generator} (one sequence
 * per forward) and {@link BatchDecoder} (a row of a batch) both drive one per sequence, so a token means the same
 * in both.
 */
final class Decoding {

    /** Tokens the result buffer holds before it first grows. */
    private static final int INITIAL_CAPACITY = 256;

    private final long[] promptIds;
    private final GenerationOptions options;
    private final long[] stopIds;
    private final Tokenizer tokenizer;
    private final TokenListener listener;
    private final TokenSampler sampler;
    private final TextStream text;
    private final List<TokenLogprob> logprobs = new ArrayList<>();
    private long[] generated;
    private int count;
    private FinishReason reason = FinishReason.LENGTH;
    private boolean done;

    /**
     * @param stopIds   the ids that end it (the options' own, else the model's defaults)
     * @param tokenizer may be {@code null} (no text; then there must be no stop strings)
     */
    Decoding(long[] promptIds, GenerationOptions options, long[] stopIds, Tokenizer tokenizer, TokenListener listener) {
        if (!options.stopStrings().isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("stop strings need a tokenizer to decode the text");
        }
        this.promptIds = promptIds.clone();
        this.options = options;
        this.stopIds = options.stopTokenIds().length > 0 ? options.stopTokenIds() : stopIds;
        this.tokenizer = tokenizer;
        this.listener = listener;
        this.sampler = new TokenSampler(options);
        this.text = new TextStream(tokenizer == null ? null : tokenizer.newIncrementalDecoder(promptIds),
                new StopStrings(options.stopStrings()));
        // grown as tokens come: maxTokens is only an upper bound (a client may ask for 1e9) and must not size memory
        this.generated = new long[Math.min(options.maxTokens(), INITIAL_CAPACITY)];
    }

    /** Whether another token may be generated (not stopped, maxTokens not reached). */
    boolean wantsMore() {
        return !done && count < options.maxTokens();
    }

    int count() {
        return count;
    }

    int maxTokens() {
        return options.maxTokens();
    }

    /** The token the next forward step feeds (the last one chosen). */
    long lastToken() {
        return generated[count - 1];
    }

    /**
     * Chooses the next token from its position's logits and tells the listener (on this thread).
     *
     * @param logits {@code [vocab]}
     * @return whether the sequence ended with it (stop token, stop string or maxTokens)
     */
    boolean accept(float[] logits) {
        int token = sampler.next(logits);
        TokenLogprob logprob = options.logprobs() == GenerationOptions.NO_LOGPROBS ? null
                : Logprobs.of(logits, token, options.logprobs(), this::tokenText);
        return take(token, logprob);
    }

    /**
     * Whether choosing the next token needs the position's logits: sampling and logprobs do; a greedy sequence
     * without logprobs needs only the index of the largest logit, which a batch computes for all its rows at once
     * instead of copying {@code vocab} floats per row to the heap.
     */
    boolean needsLogits() {
        return !options.isGreedy() || options.logprobs() != GenerationOptions.NO_LOGPROBS;
    }

    /**
     * Takes a greedy choice made elsewhere: the first index of the largest logit (as {@link TokenSampler#argmax} and
     * torch.argmax choose it).
     *
     * @throws IllegalStateException when this sequence {@link #needsLogits()}
     * @return as {@link #accept(float[])}
     */
    boolean acceptArgmax(int token) {
        if (needsLogits()) {
            throw new IllegalStateException("this sequence samples or reports logprobs: it needs the logits");
        }
        return take(token, null);
    }

    private boolean take(int token, TokenLogprob logprob) {
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, (int) Math.min((long) generated.length * 2, options.maxTokens()));
        }
        generated[count++] = token;
        if (logprob != null) {
            logprobs.add(logprob);
        }
        boolean isStopToken = contains(stopIds, token);
        String released = isStopToken ? text.finish() : text.add(token);
        if (text.stoppedByString()) {
            reason = FinishReason.STOP_STRING;
        } else if (isStopToken) {
            reason = FinishReason.STOP_TOKEN;
        }
        done = reason != FinishReason.LENGTH;
        if (!done && count == options.maxTokens()) {
            released += text.finish();
            done = true;
        }
        listener.onToken(new GeneratedToken(count - 1, token, released, logprob));
        return done;
    }

    /**
     * Ends a sequence that stopped before its own end (the context window, a stop request): releases the text held
     * back for a possible stop string with the last token.
     */
    void endEarly() {
        if (done) {
            return;
        }
        done = true;
        String rest = text.finish();
        if (!rest.isEmpty() && count > 0) {
            listener.onToken(new GeneratedToken(count - 1, generated[count - 1], rest, null));
        }
    }

    GenerationResult result() {
        return new GenerationResult(promptIds.clone(), Arrays.copyOf(generated, count), text.released(), reason,
                List.copyOf(logprobs));
    }

    private String tokenText(long id) {
        return tokenizer == null ? "" : tokenizer.tokenText(id);
    }

    private static boolean contains(long[] ids, long id) {
        for (long candidate : ids) {
            if (candidate == id) {
                return true;
            }
        }
        return false;
    }
}
