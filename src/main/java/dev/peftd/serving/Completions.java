package dev.peftd.serving;

import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.tokenizer.Tokenizer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * {@code /v1/completions} on the serving engine: checks the request, runs it on the resolved model, and builds
 * OpenAI's response (or its stream of chunks). With {@code echo} the prompt's own token logprobs come from one
 * scoring pass; {@code max_tokens: 0} then skips generation entirely, which is how evaluation harnesses score text.
 */
public final class Completions {

    private static final TokenBudget.Fields FIELDS = new TokenBudget.Fields("prompt", "max_tokens");

    private final ServingEngine engine;
    private final Clock clock;

    public Completions(ServingEngine engine, Clock clock) {
        this.engine = engine;
        this.clock = clock;
    }

    public CompletionResponse complete(ServedModel model, CompletionRequest request) {
        Plan plan = plan(request);
        try (ServingEngine.Session session = engine.open(model, "completions")) {
            Prompt prompt = prompt(session, request, plan);
            GenerationResult result = prompt.maxTokens == 0 ? null
                    : generate(session, prompt.ids, prompt.options(plan), TokenListener.NONE);
            String generated = result == null ? "" : result.text();
            LogprobList logprobs = plan.wantsLogprobs() ? new LogprobList(prompt.startOffset(request)) : null;
            if (logprobs != null) {
                if (request.isEcho()) {
                    logprobs.addPrompt(prompt, session.tokenizer());
                }
                if (result != null) {
                    result.logprobs().forEach(logprobs::add);
                }
            }
            String text = (request.isEcho() ? prompt.text : "") + generated;
            CompletionResponse.Choice choice = new CompletionResponse.Choice(text, 0,
                    logprobs == null ? null : logprobs.build(), FinishReasons.of(result));
            return new CompletionResponse(newId(), CompletionResponse.OBJECT, now(), model.name(), List.of(choice),
                    Usage.of(prompt.ids.length, result == null ? 0 : result.generatedIds().length));
        }
    }

    /**
     * Streams the answer as OpenAI chunks: the echoed prompt first (if asked), then each released piece of text, then
     * an empty chunk with the finish reason, then (with {@code stream_options.include_usage}) the usage.
     */
    public void stream(ServedModel model, CompletionRequest request, Consumer<CompletionResponse> sink) {
        try (StreamingAnswer<CompletionResponse> answer = openStream(model, request)) {
            answer.run(sink);
        }
    }

    /** Checks the request and opens its model now (tokens counted against its context); the answer generates when run. */
    public StreamingAnswer<CompletionResponse> openStream(ServedModel model, CompletionRequest request) {
        Plan plan = plan(request);
        String id = newId();
        long created = now();
        ServingEngine.Session session = engine.open(model, "completions");
        try {
            Prompt prompt = prompt(session, request, plan);
            return new StreamingAnswer<>(session, sink -> writeStream(session, request, plan, prompt, id, created, sink));
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    private void writeStream(ServingEngine.Session session, CompletionRequest request, Plan plan, Prompt prompt,
                             String id, long created, Consumer<CompletionResponse> sink) {
        ServedModel model = session.model();
        int[] offset = {prompt.startOffset(request)};
        if (request.isEcho()) {
            LogprobList echoed = plan.wantsLogprobs() ? new LogprobList(0) : null;
            if (echoed != null) {
                echoed.addPrompt(prompt, session.tokenizer());
                offset[0] = echoed.nextOffset();
            }
            sink.accept(chunk(id, created, model, prompt.text, echoed, null, null));
        }
        GenerationResult result = null;
        if (prompt.maxTokens > 0) {
            result = generate(session, prompt.ids, prompt.options(plan), token -> {
                if (token.text().isEmpty() && token.logprob() == null) {
                    return;
                }
                LogprobList piece = null;
                if (plan.wantsLogprobs() && token.logprob() != null) {
                    piece = new LogprobList(offset[0]);
                    piece.add(token.logprob());
                    offset[0] = piece.nextOffset();
                }
                sink.accept(chunk(id, created, model, token.text(), piece, null, null));
            });
        }
        sink.accept(chunk(id, created, model, "", null, FinishReasons.of(result), null));
        if (request.includeUsageInStream()) {
            sink.accept(new CompletionResponse(id, CompletionResponse.OBJECT, created, model.name(), List.of(),
                    Usage.of(prompt.ids.length, result == null ? 0 : result.generatedIds().length)));
        }
    }

    private static CompletionResponse chunk(String id, long created, ServedModel model, String text, LogprobList lp,
                                            String finish, Usage usage) {
        return new CompletionResponse(id, CompletionResponse.OBJECT, created, model.name(),
                List.of(new CompletionResponse.Choice(text, 0, lp == null ? null : lp.build(), finish)), usage);
    }

    /**
     * What the request asks for, checked before any model is loaded.
     *
     * @param maxTokens the client's max_tokens (within the server's cap), {@code null} for the default
     * @param options   the sampling options, with max tokens still to be settled by the prompt's length
     */
    private record Plan(Integer maxTokens, int topLogprobs, GenerationOptions options) {
        boolean wantsLogprobs() {
            return topLogprobs != GenerationOptions.NO_LOGPROBS;
        }
    }

    private Plan plan(CompletionRequest request) {
        if (request.model() == null || request.model().isBlank()) {
            throw new InvalidRequestException("model", "is required");
        }
        if (request.bestOf() != null && request.bestOf() != 1) {
            throw new InvalidRequestException("best_of", "only 1 is supported, got " + request.bestOf());
        }
        if (request.suffix() != null) {
            throw new InvalidRequestException("suffix", "is not supported (no insertion mode)");
        }
        if (request.logitBias() != null && !request.logitBias().isEmpty()) {
            throw new InvalidRequestException("logit_bias", "is not supported");
        }
        int top = GenerationOptions.NO_LOGPROBS;
        if (request.logprobs() != null) {
            top = request.logprobs();
            if (top < 0 || top > GenerationOptions.MAX_LOGPROBS) {
                throw new InvalidRequestException("logprobs", "must be between 0 and " + GenerationOptions.MAX_LOGPROBS
                        + ", got " + top);
            }
        }
        SamplingFields sampling = request.sampling();
        engine.tokenBudget().checkRequested(sampling.maxTokens(), FIELDS.maxTokens());
        return new Plan(sampling.maxTokens(), top, sampling.toOptions(top));
    }

    /**
     * @param logprobs  the prompt's scored tokens (echo with logprobs), else empty
     * @param maxTokens how many tokens to generate at most, checked against the model's context
     */
    private record Prompt(long[] ids, String text, List<TokenLogprob> logprobs, int maxTokens) {
        int startOffset(CompletionRequest request) {
            return request.isEcho() ? 0 : text.length();
        }

        GenerationOptions options(Plan plan) {
            return plan.options.withMaxTokens(maxTokens);
        }
    }

    /** Tokenizes and checks the prompt against the context before any compute (echo scoring included). */
    private static Prompt prompt(ServingEngine.Session session, CompletionRequest request, Plan plan) {
        long[] ids = PromptIds.of(request.prompt(), session.tokenizer(), session.base().model().config().vocabSize());
        int maxTokens = session.maxTokens(ids.length, plan.maxTokens, CompletionRequest.DEFAULT_MAX_TOKENS, FIELDS);
        String text = request.prompt() instanceof String s ? s : session.tokenizer().decode(ids);
        List<TokenLogprob> scored = request.isEcho() && plan.wantsLogprobs()
                ? session.promptLogprobs(ids, plan.topLogprobs) : List.of();
        return new Prompt(ids, text, scored, maxTokens);
    }

    private static GenerationResult generate(ServingEngine.Session session, long[] ids, GenerationOptions options,
                                             TokenListener listener) {
        try {
            return session.generate(ids, options, listener);
        } catch (InvalidRequestException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("prompt", e.getMessage()); // the generator's prompt/context checks
        }
    }

    private String newId() {
        return "cmpl-" + UUID.randomUUID().toString().replace("-", "");
    }

    private long now() {
        return clock.instant().getEpochSecond();
    }

    /** Builds the parallel lists of OpenAI's logprobs object, tracking each token's character offset. */
    private static final class LogprobList {
        private final List<String> tokens = new ArrayList<>();
        private final List<Double> values = new ArrayList<>();
        private final List<Map<String, Double>> tops = new ArrayList<>();
        private final List<Integer> offsets = new ArrayList<>();
        private int offset;

        LogprobList(int startOffset) {
            this.offset = startOffset;
        }

        /** The first prompt token (unscored: null logprob) followed by the scored ones. */
        void addPrompt(Prompt prompt, Tokenizer tokenizer) {
            append(tokenizer.tokenText(prompt.ids[0]), null, null);
            prompt.logprobs.forEach(this::add);
        }

        void add(TokenLogprob lp) {
            Map<String, Double> top = new LinkedHashMap<>();
            lp.top().forEach(a -> top.putIfAbsent(a.token(), a.logprob()));
            append(lp.token(), lp.logprob(), top);
        }

        private void append(String token, Double logprob, Map<String, Double> top) {
            tokens.add(token);
            values.add(logprob);
            tops.add(top);
            offsets.add(offset);
            offset += token.length();
        }

        int nextOffset() {
            return offset;
        }

        CompletionResponse.Logprobs build() {
            return new CompletionResponse.Logprobs(tokens, values, tops, offsets);
        }
    }
}
