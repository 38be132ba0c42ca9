package dev.peftd.serving;

import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.tokenizer.ChatMessage;
import dev.peftd.core.tokenizer.ChatTemplateException;
import dev.peftd.core.tokenizer.TokenizerException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * {@code /v1/chat/completions} on the serving engine: renders the messages with the base model's chat template
 * (with the generation prompt), generates, and answers in OpenAI's chat shape or as a stream of chunks.
 */
public final class ChatCompletions {

    private static final String ASSISTANT = "assistant";

    private final ServingEngine engine;
    private final Clock clock;

    public ChatCompletions(ServingEngine engine, Clock clock) {
        this.engine = engine;
        this.clock = clock;
    }

    public ChatCompletionResponse complete(ServedModel model, ChatCompletionRequest request) {
        GenerationOptions sampling = options(request);
        try (ServingEngine.Session session = engine.open(model, "chat.completions")) {
            long[] ids = promptIds(session, request);
            GenerationOptions options = withMaxTokens(sampling, session, request, ids);
            GenerationResult result = generate(session, ids, options, TokenListener.NONE);
            ChatCompletionResponse.Logprobs logprobs = options.logprobs() == GenerationOptions.NO_LOGPROBS ? null
                    : new ChatCompletionResponse.Logprobs(result.logprobs().stream().map(ChatCompletions::entry).toList());
            ChatCompletionResponse.Choice choice = new ChatCompletionResponse.Choice(0,
                    new ChatCompletionResponse.Message(ASSISTANT, result.text(), null), logprobs,
                    FinishReasons.of(result.finishReason()));
            return new ChatCompletionResponse(newId(), ChatCompletionResponse.OBJECT, now(), model.name(),
                    List.of(choice), Usage.of(ids.length, result.generatedIds().length));
        }
    }

    /** Streams: a chunk with the assistant role, one per released piece, one with the finish reason, then usage. */
    public void stream(ServedModel model, ChatCompletionRequest request, Consumer<ChatCompletionResponse.Chunk> sink) {
        try (StreamingAnswer<ChatCompletionResponse.Chunk> answer = openStream(model, request)) {
            answer.run(sink);
        }
    }

    /** Checks the request, opens its model and renders the prompt now; the returned answer generates when run. */
    public StreamingAnswer<ChatCompletionResponse.Chunk> openStream(ServedModel model, ChatCompletionRequest request) {
        GenerationOptions sampling = options(request);
        String id = newId();
        long created = now();
        ServingEngine.Session session = engine.open(model, "chat.completions");
        try {
            long[] ids = promptIds(session, request);
            GenerationOptions options = withMaxTokens(sampling, session, request, ids);
            return new StreamingAnswer<>(session, sink -> writeStream(session, request, options, ids, id, created, sink));
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    private static void writeStream(ServingEngine.Session session, ChatCompletionRequest request,
                                    GenerationOptions options, long[] ids, String id, long created,
                                    Consumer<ChatCompletionResponse.Chunk> sink) {
        ServedModel model = session.model();
        sink.accept(chunk(id, created, model, new ChatCompletionResponse.Delta(ASSISTANT, ""), null, null));
        GenerationResult result = generate(session, ids, options, token -> {
            if (token.text().isEmpty() && token.logprob() == null) {
                return;
            }
            ChatCompletionResponse.Logprobs lp = token.logprob() == null || options.logprobs() < 0 ? null
                    : new ChatCompletionResponse.Logprobs(List.of(entry(token.logprob())));
            sink.accept(chunk(id, created, model, new ChatCompletionResponse.Delta(null, token.text()), lp, null));
        });
        sink.accept(chunk(id, created, model, new ChatCompletionResponse.Delta(null, null), null,
                FinishReasons.of(result.finishReason())));
        if (request.includeUsageInStream()) {
            sink.accept(new ChatCompletionResponse.Chunk(id, ChatCompletionResponse.Chunk.OBJECT, created,
                    model.name(), List.of(), Usage.of(ids.length, result.generatedIds().length)));
        }
    }

    private static ChatCompletionResponse.Chunk chunk(String id, long created, ServedModel model,
                                                      ChatCompletionResponse.Delta delta,
                                                      ChatCompletionResponse.Logprobs logprobs, String finish) {
        return new ChatCompletionResponse.Chunk(id, ChatCompletionResponse.Chunk.OBJECT, created, model.name(),
                List.of(new ChatCompletionResponse.ChunkChoice(0, delta, logprobs, finish)), null);
    }

    /** The request's checks that need no model; the options' max tokens are settled by {@link #withMaxTokens}. */
    private GenerationOptions options(ChatCompletionRequest request) {
        if (request.model() == null || request.model().isBlank()) {
            throw new InvalidRequestException("model", "is required");
        }
        if (request.messages() == null || request.messages().isEmpty()) {
            throw new InvalidRequestException("messages", "at least one message is required");
        }
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
        engine.tokenBudget().checkRequested(sampling.maxTokens(), request.maxTokensField());
        if (sampling.maxTokens() != null && sampling.maxTokens() == 0) {
            throw new InvalidRequestException(request.maxTokensField(), "must be at least 1");
        }
        return sampling.toOptions(top);
    }

    /** Max tokens from the request (or all the room the messages leave), checked against the model's context. */
    private static GenerationOptions withMaxTokens(GenerationOptions options, ServingEngine.Session session,
                                                   ChatCompletionRequest request, long[] ids) {
        int maxTokens = session.maxTokens(ids.length, request.sampling().maxTokens(),
                ChatCompletionRequest.DEFAULT_MAX_TOKENS, new TokenBudget.Fields("messages", request.maxTokensField()));
        return options.withMaxTokens(maxTokens);
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
        } catch (TokenizerException e) {
            throw new InvalidRequestException("model", "'" + session.model().name() + "' cannot chat: " + e.getMessage());
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

    private static GenerationResult generate(ServingEngine.Session session, long[] ids, GenerationOptions options,
                                             TokenListener listener) {
        try {
            return session.generate(ids, options, listener);
        } catch (InvalidRequestException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("messages", e.getMessage()); // the generator's prompt/context checks
        }
    }

    private static ChatCompletionResponse.TokenLogprob entry(TokenLogprob lp) {
        List<ChatCompletionResponse.TopLogprob> top = lp.top().stream()
                .map(a -> new ChatCompletionResponse.TopLogprob(a.token(), a.logprob(), bytes(a.token()))).toList();
        return new ChatCompletionResponse.TokenLogprob(lp.token(), lp.logprob(), bytes(lp.token()), top);
    }

    private static List<Integer> bytes(String token) {
        byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
        List<Integer> out = new ArrayList<>(utf8.length);
        for (byte b : utf8) {
            out.add(b & 0xff);
        }
        return out;
    }

    private String newId() {
        return "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
    }

    private long now() {
        return clock.instant().getEpochSecond();
    }
}
