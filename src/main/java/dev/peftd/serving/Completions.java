package dev.peftd.serving;

import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.tokenizer.Tokenizer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code /v1/completions} on the serving engine: checks the request, runs it on the resolved model, and builds
 * OpenAI's response (or its stream of chunks). With {@code echo} the prompt's own token logprobs come from one
 * scoring pass; {@code max_tokens: 0} then skips generation entirely, which is how evaluation harnesses score text.
 */
final class Completions {

    private static final TokenBudget.Fields FIELDS = new TokenBudget.Fields("prompt", "max_tokens");

    private final GenerationPath path;

    public Completions(ServingEngine engine, Clock clock) {
        this.path = new GenerationPath(engine, clock, "completions", "cmpl-");
    }

    public CompletionResponse complete(ServedModel model, CompletionRequest request) {
        return path.complete(model, new Exchange(request, plan(request)));
    }

    /**
     * Streams the answer as OpenAI chunks: the echoed prompt first (if asked), then each released piece of text, then
     * an empty chunk with the finish reason, then (with {@code stream_options.include_usage}) the usage.
     */
    public void stream(ServedModel model, CompletionRequest request, Consumer<CompletionResponse> sink) {
        path.stream(model, new Exchange(request, plan(request)), sink);
    }

    /** Checks the request and opens its model now (tokens counted against its context); the answer generates when run. */
    public StreamingAnswer<CompletionResponse> openStream(ServedModel model, CompletionRequest request) {
        return path.openStream(model, new Exchange(request, plan(request)));
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
        path.checkRequested(sampling.maxTokens(), FIELDS.maxTokens());
        return new Plan(sampling.maxTokens(), top, sampling.toOptions(top));
    }

    /**
     * One completion request's shapes: the prompt (a string or token ids, echoed and scored when asked) and OpenAI's
     * text choices, with the character offsets of every logprob token running on from chunk to chunk.
     */
    private static final class Exchange implements GenerationPath.Exchange<CompletionResponse, CompletionResponse> {
        private final CompletionRequest request;
        private final Plan plan;
        private String text;
        private List<TokenLogprob> promptLogprobs = List.of();
        private Tokenizer tokenizer;
        private int offset;

        Exchange(CompletionRequest request, Plan plan) {
            this.request = request;
            this.plan = plan;
        }

        /** Tokenizes and checks the prompt against the context before any compute (echo scoring included). */
        @Override
        public GenerationPath.Prompt prompt(ServingEngine.Session session) {
            tokenizer = session.tokenizer();
            long[] ids = PromptIds.of(request.prompt(), tokenizer, session.base().model().config().vocabSize());
            GenerationPath.Prompt prompt = GenerationPath.budgeted(session, ids, plan.options, plan.maxTokens,
                    CompletionRequest.DEFAULT_MAX_TOKENS, FIELDS);
            text = request.prompt() instanceof String s ? s : tokenizer.decode(ids);
            if (request.isEcho() && plan.wantsLogprobs()) {
                promptLogprobs = session.promptLogprobs(ids, plan.topLogprobs);
            }
            offset = request.isEcho() ? 0 : text.length();
            return prompt;
        }

        @Override
        public CompletionResponse answer(GenerationPath.Reply reply, GenerationPath.Prompt prompt,
                                         GenerationResult result) {
            LogprobList logprobs = plan.wantsLogprobs() ? new LogprobList(offset) : null;
            if (logprobs != null) {
                if (request.isEcho()) {
                    logprobs.addPrompt(prompt.ids()[0], promptLogprobs, tokenizer);
                }
                if (result != null) {
                    result.logprobs().forEach(logprobs::add);
                }
            }
            String generated = result == null ? "" : result.text();
            CompletionResponse.Choice choice = new CompletionResponse.Choice((request.isEcho() ? text : "") + generated,
                    0, logprobs == null ? null : logprobs.build(), FinishReasons.of(result));
            return new CompletionResponse(reply.id(), CompletionResponse.OBJECT, reply.created(), reply.model(),
                    List.of(choice), prompt.usage(result));
        }

        @Override
        public void opening(GenerationPath.Reply reply, GenerationPath.Prompt prompt, Consumer<CompletionResponse> sink) {
            if (!request.isEcho()) {
                return;
            }
            LogprobList echoed = plan.wantsLogprobs() ? new LogprobList(0) : null;
            if (echoed != null) {
                echoed.addPrompt(prompt.ids()[0], promptLogprobs, tokenizer);
                offset = echoed.nextOffset();
            }
            sink.accept(chunk(reply, text, echoed, null));
        }

        @Override
        public CompletionResponse piece(GenerationPath.Reply reply, GeneratedToken token) {
            LogprobList piece = null;
            if (plan.wantsLogprobs() && token.logprob() != null) {
                piece = new LogprobList(offset);
                piece.add(token.logprob());
                offset = piece.nextOffset();
            }
            return chunk(reply, token.text(), piece, null);
        }

        @Override
        public CompletionResponse finish(GenerationPath.Reply reply, GenerationResult result) {
            return chunk(reply, "", null, FinishReasons.of(result));
        }

        @Override
        public CompletionResponse usage(GenerationPath.Reply reply, Usage usage) {
            return !request.includeUsageInStream() ? null : new CompletionResponse(reply.id(), CompletionResponse.OBJECT,
                    reply.created(), reply.model(), List.of(), usage);
        }

        private static CompletionResponse chunk(GenerationPath.Reply reply, String text, LogprobList lp, String finish) {
            return new CompletionResponse(reply.id(), CompletionResponse.OBJECT, reply.created(), reply.model(),
                    List.of(new CompletionResponse.Choice(text, 0, lp == null ? null : lp.build(), finish)), null);
        }
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
        void addPrompt(long firstId, List<TokenLogprob> scored, Tokenizer tokenizer) {
            append(tokenizer.tokenText(firstId), null, null);
            scored.forEach(this::add);
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
