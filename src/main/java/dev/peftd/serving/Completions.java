package dev.peftd.serving;

import dev.peftd.core.generate.FinishReason;
import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.tokenizer.Tokenizer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * {@code /v1/completions} on the serving engine: checks the request, runs it on the resolved model, and builds
 * OpenAI's response (or its stream of chunks). {@code prompt} may hold several prompts and {@code n} asks for several
 * choices of each: prompt i's choice j is {@code choices[i * n + j]}, as OpenAI orders them. With {@code echo} the
 * prompt's own token logprobs come from one scoring pass per prompt; {@code max_tokens: 0} then skips generation
 * entirely, which is how evaluation harnesses score text. {@code best_of} generates that many candidates per prompt
 * and returns the n with the highest mean token logprob, as OpenAI does.
 */
final class Completions {

    private final GenerationPath path;
    private final CompletionLimits limits;

    /** @param limits how many prompts and generations one request may ask for */
    public Completions(ServingEngine engine, Clock clock, CompletionLimits limits) {
        this.path = new GenerationPath(engine, clock, "completions", "cmpl-");
        this.limits = limits;
    }

    public CompletionResponse complete(ServedModel model, CompletionRequest request) {
        return path.complete(model, new Exchange(request, plan(request, false)));
    }

    /**
     * Streams the answer as OpenAI chunks: each choice's echoed prompt first (if asked), then the released pieces of
     * text of every choice as they come (each chunk names its choice's index), each choice's empty chunk with its
     * finish reason, then (with {@code stream_options.include_usage}) the usage.
     */
    public void stream(ServedModel model, CompletionRequest request, Consumer<CompletionResponse> sink) {
        path.stream(model, new Exchange(request, plan(request, true)), sink);
    }

    /** Checks the request and opens its model now (tokens counted against its context); the answer generates when run. */
    public StreamingAnswer<CompletionResponse> openStream(ServedModel model, CompletionRequest request) {
        return path.openStream(model, new Exchange(request, plan(request, true)));
    }

    /**
     * What the request asks for, checked before any model is loaded.
     *
     * @param maxTokens   the client's max_tokens (within the server's cap), {@code null} for the default
     * @param topLogprobs {@link GenerationOptions#NO_LOGPROBS} or the client's {@code logprobs}
     * @param options     the sampling options, with max tokens still to be settled by each prompt's length
     * @param bestOf      candidates generated per prompt (>= n); the best n are returned
     */
    private record Plan(List<PromptIds.Input> prompts, Integer maxTokens, int topLogprobs, GenerationOptions options,
                        int n, int bestOf) {
        boolean wantsLogprobs() {
            return topLogprobs != GenerationOptions.NO_LOGPROBS;
        }
    }

    private Plan plan(CompletionRequest request, boolean streaming) {
        if (request.model() == null || request.model().isBlank()) {
            throw new InvalidRequestException("model", "is required");
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
        int n = sampling.choices();
        int bestOf = request.bestOf() == null ? n : request.bestOf();
        if (bestOf < n) {
            throw new InvalidRequestException("best_of", "must be greater than or equal to n (" + n + "), got " + bestOf);
        }
        if (bestOf > n && streaming) {
            throw new InvalidRequestException("best_of", "cannot be used with stream (the best are known only at the end)");
        }
        List<PromptIds.Input> prompts = PromptIds.parse(request.prompt(), limits.maxPrompts());
        long generations = (long) prompts.size() * bestOf;
        if (generations > limits.maxChoices()) {
            throw new InvalidRequestException(bestOf > n ? "best_of" : "n", "the request asks for " + generations
                    + " generations (" + prompts.size() + " prompt(s) × " + (bestOf > n ? "best_of " : "n ") + bestOf
                    + "); this server runs at most " + limits.maxChoices() + " for one request");
        }
        path.checkRequested(sampling.maxTokens(), "max_tokens");
        // ranking candidates needs their logprobs even when the client does not see them
        int generated = top != GenerationOptions.NO_LOGPROBS || bestOf == n ? top : 0;
        return new Plan(prompts, sampling.maxTokens(), top, sampling.toOptions(generated), n, bestOf);
    }

    /**
     * One completion request's shapes: its prompts (strings or token ids, echoed and scored when asked) and OpenAI's
     * text choices; while streaming, each choice's logprobs run on from chunk to chunk.
     */
    private static final class Exchange implements GenerationPath.Exchange<CompletionResponse, CompletionResponse> {
        private final CompletionRequest request;
        private final Plan plan;
        private Tokenizer tokenizer;
        /** Each prompt's text: as given, or its ids decoded. */
        private final List<String> texts = new ArrayList<>();
        /** Each streamed choice's logprobs so far, by choice index. */
        private LegacyLogprobs[] streamed;

        Exchange(CompletionRequest request, Plan plan) {
            this.request = request;
            this.plan = plan;
        }

        /** Tokenizes and checks every prompt against the context before any compute (echo scoring included). */
        @Override
        public List<GenerationPath.Prompt> prompts(ServingEngine.Session session) {
            tokenizer = session.tokenizer();
            int vocab = session.base().model().config().vocabSize();
            List<GenerationPath.Prompt> prompts = new ArrayList<>();
            for (PromptIds.Input input : plan.prompts) {
                long[] ids = input.tokenize(tokenizer, vocab);
                prompts.add(GenerationPath.budgeted(session, ids, plan.options, plan.maxTokens,
                        CompletionRequest.DEFAULT_MAX_TOKENS, TokenBudget.Fields.completions(input.field()),
                        plan.bestOf, request.isEcho() && plan.wantsLogprobs() ? plan.topLogprobs
                                : GenerationOptions.NO_LOGPROBS));
                texts.add(input.text() != null ? input.text() : tokenizer.decode(ids));
            }
            streamed = new LegacyLogprobs[prompts.size() * plan.n];
            return prompts;
        }

        @Override
        public CompletionResponse answer(GenerationPath.Reply reply, List<GenerationPath.Outcome> outcomes, Usage usage) {
            List<CompletionResponse.Choice> choices = new ArrayList<>();
            for (int i = 0; i < outcomes.size(); i++) {
                GenerationPath.Outcome outcome = outcomes.get(i);
                List<Integer> best = best(outcome.candidates());
                for (int j = 0; j < plan.n; j++) {
                    GenerationResult result = outcome.candidates().get(best.get(j));
                    String generated = result == null ? "" : result.text();
                    CompletionResponse.Logprobs logprobs = null;
                    if (plan.wantsLogprobs()) {
                        LegacyLogprobs list = opened(i, outcome);
                        if (result != null) {
                            result.logprobs().forEach(list::add);
                            if (result.finishReason() == FinishReason.STOP_STRING) {
                                list.keepBefore(LegacyLogprobs.codePoints(texts.get(i) + generated));
                            }
                        }
                        logprobs = list.take();
                    }
                    choices.add(new CompletionResponse.Choice((request.isEcho() ? texts.get(i) : "") + generated,
                            i * plan.n + j, logprobs, FinishReasons.of(result)));
                }
            }
            return new CompletionResponse(reply.id(), CompletionResponse.OBJECT, reply.created(), reply.model(),
                    choices, usage);
        }

        /**
         * The candidates to return, in order: all of them, or (best_of) the n with the highest mean token logprob,
         * ties to the earlier candidate.
         */
        private List<Integer> best(List<GenerationResult> candidates) {
            List<Integer> order = new ArrayList<>(IntStream.range(0, candidates.size()).boxed().toList());
            if (plan.bestOf > plan.n) {
                order.sort(Comparator.comparingDouble((Integer c) -> -meanLogprob(candidates.get(c))));
            }
            return order.subList(0, plan.n);
        }

        private static double meanLogprob(GenerationResult result) {
            if (result == null || result.logprobs().isEmpty()) {
                return 0;
            }
            return result.logprobs().stream().mapToDouble(TokenLogprob::logprob).average().orElse(0);
        }

        /** A choice's logprobs up to its first generated token: the echoed prompt's, or none after its context. */
        private LegacyLogprobs opened(int prompt, GenerationPath.Outcome outcome) {
            long[] ids = outcome.prompt().ids();
            if (!request.isEcho()) {
                return new LegacyLogprobs(tokenizer, ids, LegacyLogprobs.codePoints(texts.get(prompt)));
            }
            LegacyLogprobs list = new LegacyLogprobs(tokenizer, new long[0], 0);
            list.addUnscored(ids[0]);
            outcome.promptLogprobs().forEach(list::add);
            return list;
        }

        @Override
        public void opening(GenerationPath.Reply reply, List<GenerationPath.Outcome> outcomes,
                            Consumer<CompletionResponse> sink) {
            for (int i = 0; i < outcomes.size(); i++) {
                for (int j = 0; j < plan.n; j++) {
                    int index = i * plan.n + j;
                    if (plan.wantsLogprobs()) {
                        streamed[index] = opened(i, outcomes.get(i));
                    }
                    if (request.isEcho()) {
                        sink.accept(chunk(reply, index, texts.get(i),
                                streamed[index] == null ? null : streamed[index].take(), null));
                    }
                }
            }
        }

        @Override
        public CompletionResponse piece(GenerationPath.Reply reply, int prompt, int candidate, GeneratedToken token) {
            int index = prompt * plan.n + candidate;
            CompletionResponse.Logprobs logprobs = null;
            if (plan.wantsLogprobs() && token.logprob() != null) {
                streamed[index].add(token.logprob());
                logprobs = streamed[index].take();
            }
            return chunk(reply, index, token.text(), logprobs, null);
        }

        @Override
        public CompletionResponse finish(GenerationPath.Reply reply, int prompt, int candidate, GenerationResult result) {
            return chunk(reply, prompt * plan.n + candidate, "", null, FinishReasons.of(result));
        }

        @Override
        public CompletionResponse usage(GenerationPath.Reply reply, Usage usage) {
            return !request.includeUsageInStream() ? null : new CompletionResponse(reply.id(), CompletionResponse.OBJECT,
                    reply.created(), reply.model(), List.of(), usage);
        }

        private static CompletionResponse chunk(GenerationPath.Reply reply, int index, String text,
                                                CompletionResponse.Logprobs logprobs, String finish) {
            return new CompletionResponse(reply.id(), CompletionResponse.OBJECT, reply.created(), reply.model(),
                    List.of(new CompletionResponse.Choice(text, index, logprobs, finish)), null);
        }
    }
}
