package dev.peftd.serving;

import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import java.time.Clock;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The one path every generating endpoint takes: open the resolved model (base and adapter lease), let the endpoint
 * build its prompt and settle its token budget on that model, generate, and answer at once or as a stream. The
 * endpoints ({@link Completions}, {@link ChatCompletions}) keep only their request and response shapes, an
 * {@link Exchange}; the session's lifetime, the budget's context check, the stream's cancellation and the request
 * timeout (both in {@link ServingEngine.Session#generate}) are the same for all of them because they live here.
 */
final class GenerationPath {

    /** The ids and creation time every response (and every chunk of a stream) of one request carries. */
    record Reply(String id, long created, String model) {
    }

    /**
     * A prompt tokenized on the opened model, with its budget settled.
     *
     * @param maxTokens   what the budget allows it to generate (0: score only, generate nothing)
     * @param sampling    the request's sampling options, their max tokens not yet settled
     * @param promptField the request's name for the prompt ({@code prompt}, {@code messages}), named by errors the
     *                    generator finds in it
     */
    record Prompt(long[] ids, int maxTokens, GenerationOptions sampling, String promptField) {
        boolean generates() {
            return maxTokens > 0;
        }

        GenerationOptions options() {
            return sampling.withMaxTokens(maxTokens);
        }

        Usage usage(GenerationResult result) {
            return Usage.of(ids.length, result == null ? 0 : result.generatedIds().length);
        }
    }

    /**
     * One request's side of the path, built by its endpoint after the checks that need no model.
     *
     * @param <R> the whole response
     * @param <C> one chunk of the stream
     */
    interface Exchange<R, C> {

        /** Tokenizes and budgets the prompt on the opened model; every client error is thrown here, before compute. */
        Prompt prompt(ServingEngine.Session session);

        /** The whole answer; {@code result} is {@code null} when nothing was generated. */
        R answer(Reply reply, Prompt prompt, GenerationResult result);

        /** What the stream starts with, before any token (the echoed prompt, the assistant's role). */
        void opening(Reply reply, Prompt prompt, Consumer<C> sink);

        /** The chunk for one released piece of text (never an empty piece without a logprob). */
        C piece(Reply reply, GeneratedToken token);

        /** The chunk with the finish reason; {@code result} is {@code null} when nothing was generated. */
        C finish(Reply reply, GenerationResult result);

        /** The usage chunk that ends the stream, or {@code null} when the client did not ask for one. */
        C usage(Reply reply, Usage usage);
    }

    private final ServingEngine engine;
    private final Clock clock;
    private final String endpoint;
    private final String idPrefix;

    /**
     * @param endpoint the request meter's name for it ({@code completions}, {@code chat.completions})
     * @param idPrefix what its response ids start with ({@code cmpl-}, {@code chatcmpl-})
     */
    GenerationPath(ServingEngine engine, Clock clock, String endpoint, String idPrefix) {
        this.engine = engine;
        this.clock = clock;
        this.endpoint = endpoint;
        this.idPrefix = idPrefix;
    }

    /** The max_tokens checks that need no model (>= 0, within the server's cap), for a request's first look. */
    void checkRequested(Integer maxTokens, String field) {
        engine.tokenBudget().checkRequested(maxTokens, field);
    }

    /**
     * The prompt with its budget: the client's max tokens (or {@code defaultTokens}, shrunk to the room left), checked
     * against the model's context; a 400 naming the field when they do not fit.
     */
    static Prompt budgeted(ServingEngine.Session session, long[] ids, GenerationOptions sampling, Integer requested,
                           int defaultTokens, TokenBudget.Fields fields) {
        return new Prompt(ids, session.maxTokens(ids.length, requested, defaultTokens, fields), sampling,
                fields.prompt());
    }

    <R> R complete(ServedModel model, Exchange<R, ?> exchange) {
        Reply reply = newReply(model);
        try (ServingEngine.Session session = engine.open(model, endpoint)) {
            Prompt prompt = exchange.prompt(session);
            GenerationResult result = prompt.generates() ? generate(session, prompt, TokenListener.NONE) : null;
            return exchange.answer(reply, prompt, result);
        }
    }

    /** Generates on the calling thread, handing every chunk to {@code sink}, and releases the model when done. */
    <C> void stream(ServedModel model, Exchange<?, C> exchange, Consumer<C> sink) {
        try (StreamingAnswer<C> answer = openStream(model, exchange)) {
            answer.run(sink);
        }
    }

    /** Opens the model and builds the prompt now (so client errors are still plain 400s); generates when run. */
    <C> StreamingAnswer<C> openStream(ServedModel model, Exchange<?, C> exchange) {
        Reply reply = newReply(model);
        ServingEngine.Session session = engine.open(model, endpoint);
        try {
            Prompt prompt = exchange.prompt(session);
            return new StreamingAnswer<>(session, sink -> stream(session, reply, prompt, exchange, sink));
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    private static <C> void stream(ServingEngine.Session session, Reply reply, Prompt prompt, Exchange<?, C> exchange,
                                   Consumer<C> sink) {
        exchange.opening(reply, prompt, sink);
        GenerationResult result = !prompt.generates() ? null : generate(session, prompt, token -> {
            if (!token.text().isEmpty() || token.logprob() != null) {
                sink.accept(exchange.piece(reply, token));
            }
        });
        sink.accept(exchange.finish(reply, result));
        C usage = exchange.usage(reply, prompt.usage(result));
        if (usage != null) {
            sink.accept(usage);
        }
    }

    private static GenerationResult generate(ServingEngine.Session session, Prompt prompt, TokenListener listener) {
        try {
            return session.generate(prompt.ids(), prompt.options(), listener);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(prompt.promptField(), e.getMessage()); // the generator's prompt checks
        }
    }

    private Reply newReply(ServedModel model) {
        return new Reply(idPrefix + UUID.randomUUID().toString().replace("-", ""), clock.instant().getEpochSecond(),
                model.name());
    }
}
