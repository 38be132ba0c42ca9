package dev.peftd.serving;

import dev.peftd.core.generate.FinishReason;
import dev.peftd.core.generate.GeneratedToken;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.tokenizer.ChatMessage;
import dev.peftd.core.tokenizer.ChatTemplateException;
import dev.peftd.core.tokenizer.TokenizerException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code /v1/chat/completions} on the serving engine: renders the messages with the base model's chat template
 * (with the generation prompt), generates, and answers in OpenAI's chat shape or as a stream of chunks. {@code n}
 * asks for several choices of the one conversation, indexed in order (with a seed, choice j samples with seed + j, as
 * in completions); they generate as rows of the same batch, and usage counts the prompt once and every choice's tokens.
 */
final class ChatCompletions {

    private static final String ASSISTANT = "assistant";

    private final GenerationPath path;
    private final CompletionLimits limits;

    /** @param limits how many choices ({@code n}) one request may ask for: its {@link CompletionLimits#maxChoices} */
    public ChatCompletions(ServingEngine engine, Clock clock, CompletionLimits limits) {
        this.path = new GenerationPath(engine, clock, "chat.completions", "chatcmpl-");
        this.limits = limits;
    }

    public ChatCompletionResponse complete(ServedModel model, ChatCompletionRequest request) {
        return path.complete(model, new Exchange(request, options(request)));
    }

    /** Streams: a chunk with the assistant role, one per released piece, one with the finish reason, then usage. */
    public void stream(ServedModel model, ChatCompletionRequest request, Consumer<ChatCompletionResponse.Chunk> sink) {
        path.stream(model, new Exchange(request, options(request)), sink);
    }

    /** Checks the request, opens its model and renders the prompt now; the returned answer generates when run. */
    public StreamingAnswer<ChatCompletionResponse.Chunk> openStream(ServedModel model, ChatCompletionRequest request) {
        return path.openStream(model, new Exchange(request, options(request)));
    }

    /** The request's checks that need no model; the options' max tokens are settled by the budget on the model. */
    private GenerationOptions options(ChatCompletionRequest request) {
        if (request.model() == null || request.model().isBlank()) {
            throw new InvalidRequestException("model", "is required");
        }
        if (request.messages() == null || request.messages().isEmpty()) {
            throw new InvalidRequestException("messages", "at least one message is required");
        }
        ChatFieldsNotServed.refuse(request.otherFields());
        int top = GenerationOptions.NO_LOGPROBS;
        if (Boolean.TRUE.equals(request.logprobs())) {
            top = request.topLogprobs() == null ? 0 : request.topLogprobs();
            if (top < 0 || top > GenerationOptions.MAX_LOGPROBS) {
                throw new InvalidRequestException("top_logprobs", "must be between 0 and "
                        + GenerationOptions.MAX_LOGPROBS + ", got " + top);
            }
        } else if (request.topLogprobs() != null) {
            throw new InvalidRequestException("top_logprobs", "needs logprobs: true");
        }
        SamplingFields sampling = request.sampling();
        if (sampling.choices() > limits.maxChoices()) {
            throw new InvalidRequestException("n", "the request asks for " + sampling.choices()
                    + " generations; this server runs at most " + limits.maxChoices() + " for one request");
        }
        path.checkRequested(sampling.maxTokens(), request.maxTokensField());
        if (sampling.maxTokens() != null && sampling.maxTokens() == 0) {
            throw new InvalidRequestException(request.maxTokensField(), "must be at least 1");
        }
        return sampling.toOptions(top);
    }

    /**
     * One chat request's shapes: messages rendered by the chat template, OpenAI's message choices and deltas. Logprob
     * tokens are shown as in completions ({@link LegacyLogprobs}: read in context, pieces of a character as
     * {@code bytes:\xNN}), with their raw bytes.
     */
    private static final class Exchange
            implements GenerationPath.Exchange<ChatCompletionResponse, ChatCompletionResponse.Chunk> {
        private final ChatCompletionRequest request;
        private final GenerationOptions sampling;
        /** Each choice's logprob strings, read after the prompt; while streaming they run on from chunk to chunk. */
        private LegacyLogprobs[] strings;

        Exchange(ChatCompletionRequest request, GenerationOptions sampling) {
            this.request = request;
            this.sampling = sampling;
        }

        /** Max tokens from the request (or all the room the messages leave), checked against the model's context. */
        @Override
        public List<GenerationPath.Prompt> prompts(ServingEngine.Session session) {
            long[] ids = promptIds(session, request);
            int n = request.sampling().choices();
            strings = new LegacyLogprobs[n];
            for (int j = 0; j < n; j++) {
                strings[j] = new LegacyLogprobs(session.tokenizer(), ids, 0);
            }
            return List.of(GenerationPath.budgeted(session, ids, sampling,
                    request.sampling().maxTokens(), ChatCompletionRequest.DEFAULT_MAX_TOKENS,
                    TokenBudget.Fields.chat(request.maxTokensField()), n, GenerationOptions.NO_LOGPROBS));
        }

        @Override
        public ChatCompletionResponse answer(GenerationPath.Reply reply, List<GenerationPath.Outcome> outcomes,
                                             Usage usage) {
            List<ChatCompletionResponse.Choice> choices = new ArrayList<>();
            List<GenerationResult> results = outcomes.get(0).candidates();
            for (int j = 0; j < results.size(); j++) {
                GenerationResult result = results.get(j);
                ChatCompletionResponse.Logprobs logprobs = null;
                if (wantsLogprobs()) {
                    result.logprobs().forEach(strings[j]::add);
                    if (result.finishReason() == FinishReason.STOP_STRING) {
                        strings[j].keepBefore(LegacyLogprobs.codePoints(result.text()));
                    }
                    logprobs = entries(strings[j].take(), result.logprobs());
                }
                choices.add(new ChatCompletionResponse.Choice(j,
                        new ChatCompletionResponse.Message(ASSISTANT, result.text(), null), logprobs,
                        FinishReasons.of(result.finishReason())));
            }
            return new ChatCompletionResponse(reply.id(), ChatCompletionResponse.OBJECT, reply.created(), reply.model(),
                    choices, usage);
        }

        @Override
        public void opening(GenerationPath.Reply reply, List<GenerationPath.Outcome> outcomes,
                            Consumer<ChatCompletionResponse.Chunk> sink) {
            for (int j = 0; j < strings.length; j++) { // each choice's first chunk names the role
                sink.accept(chunk(reply, j, new ChatCompletionResponse.Delta(ASSISTANT, ""), null, null));
            }
        }

        @Override
        public ChatCompletionResponse.Chunk piece(GenerationPath.Reply reply, int prompt, int candidate,
                                                  GeneratedToken token) {
            ChatCompletionResponse.Logprobs lp = null;
            if (token.logprob() != null && wantsLogprobs()) {
                strings[candidate].add(token.logprob());
                lp = entries(strings[candidate].take(), List.of(token.logprob()));
            }
            return chunk(reply, candidate, new ChatCompletionResponse.Delta(null, token.text()), lp, null);
        }

        @Override
        public ChatCompletionResponse.Chunk finish(GenerationPath.Reply reply, int prompt, int candidate,
                                                   GenerationResult result) {
            return chunk(reply, candidate, new ChatCompletionResponse.Delta(null, null), null, FinishReasons.of(result));
        }

        @Override
        public ChatCompletionResponse.Chunk usage(GenerationPath.Reply reply, Usage usage) {
            return !request.includeUsageInStream() ? null : new ChatCompletionResponse.Chunk(reply.id(),
                    ChatCompletionResponse.Chunk.OBJECT, reply.created(), reply.model(), List.of(), usage);
        }

        private boolean wantsLogprobs() {
            return sampling.logprobs() != GenerationOptions.NO_LOGPROBS;
        }

        private static ChatCompletionResponse.Chunk chunk(GenerationPath.Reply reply, int index,
                                                          ChatCompletionResponse.Delta delta,
                                                          ChatCompletionResponse.Logprobs logprobs, String finish) {
            return new ChatCompletionResponse.Chunk(reply.id(), ChatCompletionResponse.Chunk.OBJECT, reply.created(),
                    reply.model(), List.of(new ChatCompletionResponse.ChunkChoice(index, delta, logprobs, finish)), null);
        }
    }

    private static long[] promptIds(ServingEngine.Session session, ChatCompletionRequest request) {
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < request.messages().size(); i++) {
            ChatCompletionRequest.Message m = request.messages().get(i);
            String field = "messages[" + i + "]";
            if (m == null || m.role() == null || m.role().isBlank()) {
                throw new InvalidRequestException(field + ".role", "is required");
            }
            messages.add(new ChatMessage(m.role(), text(m.content(), field + ".content")));
        }
        try {
            return session.tokenizer().encodeChat(messages, true);
        } catch (ChatTemplateException e) {
            throw new InvalidRequestException("messages", "the chat template refused them: " + e.getMessage());
        } catch (TokenizerException e) {   // its message names the server's folder: not for clients
            throw new InvalidRequestException("model", "'" + session.model().name() + "' cannot chat: its"
                    + " tokenizer_config.json has no 'chat_template' (this is not a chat model)");
        }
    }

    /** A message's text: a string, or the concatenated text of {@code [{"type":"text","text":…}]} parts. */
    private static String text(Object content, String field) {
        if (content instanceof String s) {
            return s;
        }
        if (content instanceof List<?> parts) {
            StringBuilder text = new StringBuilder();
            for (Object part : parts) {
                if (!(part instanceof Map<?, ?> map) || !"text".equals(map.get("type")) || !(map.get("text") instanceof String t)) {
                    throw new InvalidRequestException(field, "only text parts ({\"type\": \"text\", \"text\": …}) are supported");
                }
                text.append(t);
            }
            return text.toString();
        }
        throw new InvalidRequestException(field, content == null ? "is required" : "must be a string or an array of text parts");
    }

    /** Chat's logprobs entries from the shown strings (one per kept token) and the generator's values. */
    private static ChatCompletionResponse.Logprobs entries(CompletionResponse.Logprobs shown, List<TokenLogprob> values) {
        List<ChatCompletionResponse.TokenLogprob> content = new ArrayList<>();
        for (int i = 0; i < shown.tokens().size(); i++) {
            String token = shown.tokens().get(i);
            List<ChatCompletionResponse.TopLogprob> top = shown.topLogprobs().get(i).entrySet().stream()
                    .map(e -> new ChatCompletionResponse.TopLogprob(e.getKey(), e.getValue(), bytes(e.getKey())))
                    .toList();
            content.add(new ChatCompletionResponse.TokenLogprob(token, values.get(i).logprob(), bytes(token), top));
        }
        return new ChatCompletionResponse.Logprobs(content);
    }

    private static List<Integer> bytes(String shown) {
        byte[] utf8 = LegacyLogprobs.bytes(shown);
        List<Integer> out = new ArrayList<>(utf8.length);
        for (byte b : utf8) {
            out.add(b & 0xff);
        }
        return out;
    }
}
