package dev.peftd.serving;

import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.generate.TokenLogprob;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * The one path every generating endpoint takes: open the resolved model (base and adapter lease), let the endpoint
 * build its prompts and settle their token budgets on that model, run every generation the request asks for (each
 * prompt's candidates: {@code n}, or {@code best_of}), and answer at once or as a stream. All of a request's
 * generations (and prompt scorings) are started before any is awaited, so they can share the engine's batches. The
 * endpoints ({@link Completions}, {@link ChatCompletions}) keep only their request and response shapes, an
 * {@link Exchange}; the session's lifetime, the budget's context check, the stream's cancellation and the request
 * timeout (both in {@link ServingEngine.Session#generate}) are the same for all of them because they live here.
 */
final class GenerationPath {

    /**
     * Drives a stream's generations (see {@link #start}) and each request's prompt scoring (its prompts batched
     * together); daemon threads, so a stuck generation never holds the JVM.
     */
    private static final ExecutorService CANDIDATES = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "peftd-serving-candidate");
        thread.setDaemon(true);
        return thread;
    });

    /** The ids and creation time every response (and every chunk of a stream) of one request carries. */
    record Reply(String id, long created, String model) {
    }

    /**
     * A prompt tokenized on the opened model, with its budget settled.
     *
     * @param maxTokens      what the budget allows it to generate (0: score only, generate nothing)
     * @param sampling       the request's sampling options, their max tokens not yet settled
     * @param promptField    the request's name for the prompt ({@code prompt}, {@code prompt[i]}, {@code messages}),
     *                       named by errors the generator finds in it
     * @param candidates     how many generations to run from it ({@code n}, or {@code best_of})
     * @param promptLogprobs {@link GenerationOptions#NO_LOGPROBS}, or how many alternatives to score the prompt's own
     *                       tokens with ({@code echo} with {@code logprobs})
     */
    record Prompt(long[] ids, int maxTokens, GenerationOptions sampling, String promptField, int candidates,
                  int promptLogprobs) {
        boolean generates() {
            return maxTokens > 0;
        }

        boolean scoresItself() {
            return promptLogprobs != GenerationOptions.NO_LOGPROBS;
        }

        /**
         * The options of candidate {@code j}: with a seed, candidate j samples with {@code seed + j}, so the
         * candidates differ, a request replays exactly, and candidate 0 is what the same request with n = 1 gives.
         */
        GenerationOptions options(int candidate) {
            GenerationOptions options = sampling.withMaxTokens(maxTokens);
            OptionalLong seed = options.seed();
            return seed.isEmpty() || candidate == 0 ? options
                    : options.withSampling(options.temperature(), options.topP(),
                            OptionalLong.of(seed.getAsLong() + candidate));
        }
    }

    /**
     * What a prompt came to.
     *
     * @param promptLogprobs its own tokens' logprobs from the second on (empty unless it {@link Prompt#scoresItself})
     * @param candidates     one result per candidate, in candidate order; {@code null} entries when it generates
     *                       nothing; empty while a stream is only opening
     */
    record Outcome(Prompt prompt, List<TokenLogprob> promptLogprobs, List<GenerationResult> candidates) {
    }

    /**
     * One request's side of the path, built by its endpoint after the checks that need no model.
     *
     * @param <R> the whole response
     * @param <C> one chunk of the stream
     */
    interface Exchange<R, C> {

        /** Tokenizes and budgets every prompt on the opened model; every client error is thrown here, before compute. */
        List<Prompt> prompts(ServingEngine.Session session);

        /** The whole answer from every prompt's outcome, in prompt order. */
        R answer(Reply reply, List<Outcome> outcomes, Usage usage);

        /** What the stream starts with, before any token (the echoed prompts, the assistant's role). */
        void opening(Reply reply, List<Outcome> outcomes, Consumer<C> sink);

        /** The chunk for one released piece of text of prompt {@code prompt}'s candidate {@code candidate}. */
        C piece(Reply reply, int prompt, int candidate, GeneratedToken token);

        /** The chunk with one candidate's finish reason; {@code result} is {@code null} when nothing was generated. */
        C finish(Reply reply, int prompt, int candidate, GenerationResult result);

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
                           int defaultTokens, TokenBudget.Fields fields, int candidates, int promptLogprobs) {
        return new Prompt(ids, session.maxTokens(ids.length, requested, defaultTokens, fields), sampling,
                fields.prompt(), candidates, promptLogprobs);
    }

    <R> R complete(ServedModel model, Exchange<R, ?> exchange) {
        Reply reply = newReply(model);
        try (ServingEngine.Session session = engine.open(model, endpoint)) {
            List<Prompt> prompts = exchange.prompts(session);
            List<CompletableFuture<List<TokenLogprob>>> scorings = score(session, prompts);
            List<Outcome> outcomes = awaitAll(session, prompts, scorings, startTogether(session, prompts));
            return exchange.answer(reply, outcomes, usage(outcomes));
        }
    }

    /** Generates on the calling thread, handing every chunk to {@code sink}, and releases the model when done. */
    <C> void stream(ServedModel model, Exchange<?, C> exchange, Consumer<C> sink) {
        try (StreamingAnswer<C> answer = openStream(model, exchange)) {
            answer.run(sink);
        }
    }

    /** Opens the model and builds the prompts now (so client errors are still plain 400s); generates when run. */
    <C> StreamingAnswer<C> openStream(ServedModel model, Exchange<?, C> exchange) {
        Reply reply = newReply(model);
        ServingEngine.Session session = engine.open(model, endpoint);
        try {
            List<Prompt> prompts = exchange.prompts(session);
            return new StreamingAnswer<>(session, sink -> stream(session, reply, prompts, exchange, sink));
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /**
     * The echoed prompts first (their scoring awaited), then every candidate's pieces as they come, each candidate's
     * finish chunk right after its last piece, and the usage once all are done. Candidates generate side by side, so
     * their chunks interleave; each chunk names its choice, and the sink sees one chunk at a time.
     */
    private static <C> void stream(ServingEngine.Session session, Reply reply, List<Prompt> prompts,
                                   Exchange<?, C> exchange, Consumer<C> sink) {
        Consumer<C> serial = chunk -> {
            synchronized (sink) {
                sink.accept(chunk);
            }
        };
        List<CompletableFuture<List<TokenLogprob>>> scorings = score(session, prompts);
        List<Outcome> opened = awaitAll(session, prompts, scorings, prompts.stream()
                .map(p -> List.<CompletableFuture<GenerationResult>>of()).toList());
        exchange.opening(reply, opened, serial);
        List<List<CompletableFuture<GenerationResult>>> runs = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Prompt prompt = prompts.get(i);
            int promptIndex = i;
            List<CompletableFuture<GenerationResult>> candidates = new ArrayList<>();
            for (int j = 0; j < prompt.candidates(); j++) {
                int candidate = j;
                CompletableFuture<GenerationResult> run = !prompt.generates() ? CompletableFuture.completedFuture(null)
                        : startStreamed(session, prompt.ids(), prompt.options(j), token -> {
                            if (!token.text().isEmpty() || token.logprob() != null) {
                                serial.accept(exchange.piece(reply, promptIndex, candidate, token));
                            }
                        });
                candidates.add(run.thenApply(result -> {
                    serial.accept(exchange.finish(reply, promptIndex, candidate, result));
                    return result;
                }));
            }
            runs.add(candidates);
        }
        List<Outcome> outcomes = awaitAll(session, prompts, scorings, runs);
        C usage = exchange.usage(reply, usage(outcomes));
        if (usage != null) {
            serial.accept(usage);
        }
    }

    /**
     * Starts every candidate of every prompt that generates, all queued at once so that the model's batch admits them
     * together, and returns at once: per prompt, its candidates' futures (one completed with {@code null} per candidate
     * of a prompt that only scores). A refused prompt queues none of them; every future then fails with the refusal.
     */
    private static List<List<CompletableFuture<GenerationResult>>> startTogether(ServingEngine.Session session,
                                                                                 List<Prompt> prompts) {
        List<ServingEngine.Generation> generations = new ArrayList<>();
        for (Prompt prompt : prompts) {
            for (int j = 0; prompt.generates() && j < prompt.candidates(); j++) {
                generations.add(new ServingEngine.Generation(prompt.ids(), prompt.options(j), TokenListener.NONE));
            }
        }
        List<CompletableFuture<GenerationResult>> started;
        try {
            started = generations.isEmpty() ? List.of() : session.submitAll(generations);
        } catch (RuntimeException e) {   // a refused prompt: awaited like any failure
            started = Collections.nCopies(generations.size(), CompletableFuture.failedFuture(e));
        }
        Iterator<CompletableFuture<GenerationResult>> next = started.iterator();
        List<List<CompletableFuture<GenerationResult>>> runs = new ArrayList<>(prompts.size());
        for (Prompt prompt : prompts) {
            List<CompletableFuture<GenerationResult>> candidates = new ArrayList<>(prompt.candidates());
            for (int j = 0; j < prompt.candidates(); j++) {
                candidates.add(prompt.generates() ? next.next() : CompletableFuture.completedFuture(null));
            }
            runs.add(candidates);
        }
        return runs;
    }

    /**
     * Starts one streamed candidate and returns at once. Its listener writes to the client's socket, which may block,
     * and the model's loop thread must never block, so the generation is driven from a thread of its own through the
     * session's blocking {@code generate} (which hands it the tokens the loop queues for it). Non-streamed candidates
     * are queued together instead ({@link #startTogether}).
     */
    private static CompletableFuture<GenerationResult> startStreamed(ServingEngine.Session session, long[] ids,
                                                                     GenerationOptions options, TokenListener listener) {
        return CompletableFuture.supplyAsync(() -> session.generate(ids, options, listener), CANDIDATES);
    }

    /**
     * Starts scoring the own tokens of every prompt that asks for that, all of them together (several per forward
     * pass); for each prompt a future of its logprobs, an empty list when it does not ask.
     */
    private static List<CompletableFuture<List<TokenLogprob>>> score(ServingEngine.Session session,
                                                                      List<Prompt> prompts) {
        List<Integer> scored = IntStream.range(0, prompts.size()).filter(i -> prompts.get(i).scoresItself()).boxed()
                .toList();
        CompletableFuture<List<List<TokenLogprob>>> all = scored.isEmpty() ? CompletableFuture.completedFuture(List.of())
                : CompletableFuture.supplyAsync(() -> session.promptLogprobs(
                        scored.stream().map(i -> prompts.get(i).ids()).toList(),
                        scored.stream().mapToInt(i -> prompts.get(i).promptLogprobs()).toArray()), CANDIDATES);
        List<CompletableFuture<List<TokenLogprob>>> each = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            int at = scored.indexOf(i);
            each.add(at < 0 ? CompletableFuture.completedFuture(List.of()) : all.thenApply(lists -> lists.get(at)));
        }
        return each;
    }

    /**
     * Waits for everything started; on the first failure the session is cancelled (the others stop at their next
     * token) and, once all have ended, that failure is thrown: the session is never closed under a running generation.
     */
    private static List<Outcome> awaitAll(ServingEngine.Session session, List<Prompt> prompts,
                                          List<CompletableFuture<List<TokenLogprob>>> scorings,
                                          List<List<CompletableFuture<GenerationResult>>> runs) {
        List<CompletableFuture<?>> all = new ArrayList<>(scorings);
        runs.forEach(all::addAll);
        CompletableFuture<Void> done = CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
        all.forEach(f -> f.exceptionally(e -> {
            session.cancel();
            return null;
        }));
        try {
            done.get();
        } catch (InterruptedException e) {
            session.cancel();
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(t -> null).join();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the generations", e);
        } catch (ExecutionException e) {
            throw failure(e.getCause(), prompts);
        }
        List<Outcome> outcomes = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            List<GenerationResult> results = Arrays.asList(runs.get(i).stream().map(CompletableFuture::join)
                    .toArray(GenerationResult[]::new));
            outcomes.add(new Outcome(prompts.get(i), scorings.get(i).join(), results));
        }
        return outcomes;
    }

    /** The failure as the caller would have seen it on its own thread; the generator's prompt checks name the field. */
    private static RuntimeException failure(Throwable cause, List<Prompt> prompts) {
        Throwable e = cause instanceof CompletionException && cause.getCause() != null ? cause.getCause() : cause;
        if (e instanceof IllegalArgumentException) {
            String field = prompts.size() == 1 ? prompts.get(0).promptField() : "prompt";
            return new InvalidRequestException(field, e.getMessage());
        }
        if (e instanceof RuntimeException runtime) {
            return runtime;
        }
        if (e instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(e);
    }

    /** OpenAI's usage: every prompt counted once (not once per choice), every generated token of every candidate. */
    private static Usage usage(List<Outcome> outcomes) {
        int prompt = 0;
        int completion = 0;
        for (Outcome outcome : outcomes) {
            prompt += outcome.prompt().ids().length;
            for (GenerationResult result : outcome.candidates()) {
                completion += result == null ? 0 : result.generatedIds().length;
            }
        }
        return Usage.of(prompt, completion);
    }

    private Reply newReply(ServedModel model) {
        return new Reply(idPrefix + UUID.randomUUID().toString().replace("-", ""), clock.instant().getEpochSecond(),
                model.name());
    }
}
