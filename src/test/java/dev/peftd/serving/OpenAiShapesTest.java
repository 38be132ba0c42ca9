package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peftd.core.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** Completions and chat completions in OpenAI's shapes: streams equal the whole answer; bad fields are named. */
class OpenAiShapesTest {

    @AutoClose
    private static final ServingFixtures serving = new ServingFixtures();

    @Test
    void streamedCompletionChunksAddUpToTheWholeAnswer() {
        ServedModel model = ServingFixtures.adapter("llama-lora", "tiny-llama");
        CompletionRequest request = CompletionRequest.of(model.name(), "hello there", 10).withLogprobs(2, true)
                .withSampling(0.7, null, 99L);
        CompletionResponse whole = serving.completions.complete(model, request);
        List<CompletionResponse> chunks = new ArrayList<>();
        serving.completions.stream(model, withUsage(request), chunks::add);

        StringBuilder text = new StringBuilder();
        List<Double> logprobs = new ArrayList<>();
        for (CompletionResponse c : chunks.subList(0, chunks.size() - 1)) {
            assertEquals(CompletionResponse.OBJECT, c.object());
            assertEquals(whole.model(), c.model());
            text.append(c.choices().get(0).text());
            if (c.choices().get(0).logprobs() != null) {
                logprobs.addAll(c.choices().get(0).logprobs().tokenLogprobs());
            }
        }
        assertEquals(whole.choices().get(0).text(), text.toString());
        assertTrue(whole.choices().get(0).text().startsWith("hello there"), "echo puts the prompt first");
        assertEquals(whole.choices().get(0).logprobs().tokenLogprobs(), logprobs);
        CompletionResponse last = chunks.get(chunks.size() - 2);
        assertEquals(whole.choices().get(0).finishReason(), last.choices().get(0).finishReason());
        CompletionResponse usage = chunks.get(chunks.size() - 1);
        assertTrue(usage.choices().isEmpty());
        assertEquals(whole.usage(), usage.usage());
    }

    @Test
    void chatUsesTheBaseModelsTemplateAndStreamsTheSameAnswer() {
        ServedModel model = ServingFixtures.adapter("qwen2-lora-all", "tiny-qwen2");
        List<ChatCompletionRequest.Message> messages = List.of(ChatCompletionRequest.Message.of("system", "be brief"),
                ChatCompletionRequest.Message.of("user", "what is a robot?"));
        ChatCompletionRequest request = new ChatCompletionRequest(model.name(), messages, null, 8, 0.0, null, null,
                null, null, null, null, true, 3, null, null, null, null);
        ChatCompletionResponse whole = serving.chat.complete(model, request);
        ChatCompletionResponse.Choice choice = whole.choices().get(0);
        assertEquals("assistant", choice.message().role());
        long[] prompt = serving.engine.bases().get(model.baseDir()).tokenizer().encodeChat(
                List.of(new ChatMessage("system", "be brief"), new ChatMessage("user", "what is a robot?")), true);
        assertEquals(prompt.length, whole.usage().promptTokens());
        assertEquals(whole.usage().completionTokens(), choice.logprobs().content().size());
        assertEquals(3, choice.logprobs().content().get(0).topLogprobs().size());
        List<String> tokens = choice.logprobs().content().stream().map(ChatCompletionResponse.TokenLogprob::token).toList();
        String content = choice.message().content();
        assertEquals(content, LegacyLogprobsTest.rebuilt(tokens).substring(0, content.length()),
                "the tokens join back to the content (a stop token may follow it)");
        for (ChatCompletionResponse.TokenLogprob t : choice.logprobs().content()) {
            if (!t.token().startsWith("bytes:")) {
                assertEquals(utf8(t.token()), t.bytes());
            }
        }

        List<ChatCompletionResponse.Chunk> chunks = new ArrayList<>();
        serving.chat.stream(model, request, chunks::add);
        assertEquals("assistant", chunks.get(0).choices().get(0).delta().role());
        StringBuilder streamed = new StringBuilder();
        for (ChatCompletionResponse.Chunk c : chunks) {
            assertEquals(ChatCompletionResponse.Chunk.OBJECT, c.object());
            String piece = c.choices().get(0).delta().content();
            streamed.append(piece == null ? "" : piece);
        }
        assertEquals(choice.message().content(), streamed.toString());
        assertEquals(choice.finishReason(), chunks.get(chunks.size() - 1).choices().get(0).finishReason());
        assertNull(chunks.get(0).choices().get(0).finishReason());
    }

    @Test
    void unsupportedOrInvalidFieldsAreNamed() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        CompletionRequest ok = CompletionRequest.of(model.name(), "hi", 4);
        assertParam("n", () -> serving.completions.complete(model, new CompletionRequest(model.name(), "hi", 4, null,
                null, null, null, 0, null, null, null, null, null, null, null, null, null, null)));
        assertParam("temperature", () -> serving.completions.complete(model, ok.withSampling(2.5, null, null)));
        assertParam("top_p", () -> serving.completions.complete(model, ok.withSampling(null, 0.0, null)));
        assertParam("logprobs", () -> serving.completions.complete(model, ok.withLogprobs(21, false)));
        assertParam("max_tokens", () -> serving.completions.complete(model, CompletionRequest.of(model.name(), "hi", -1)));
        assertParam("prompt", () -> serving.completions.complete(model,
                CompletionRequest.of(model.name(), List.of(1, 2, 100000), 4)));
        assertParam("prompt", () -> serving.completions.complete(model,
                CompletionRequest.of(model.name(), List.of("a", List.of(1, 2)), 4)));
        assertParam("stop", () -> serving.completions.complete(model, new CompletionRequest(model.name(), "hi", 4, null,
                null, null, List.of("a", "b", "c", "d", "e"), null, null, null, null, null, null, null, null, null,
                null, null)));
        assertParam("top_logprobs", () -> serving.chat.complete(model, new ChatCompletionRequest(model.name(),
                List.of(ChatCompletionRequest.Message.of("user", "hi")), 4, null, null, null, null, null, null, null,
                null, null, 2, null, null, null, null)));
    }

    private static List<Integer> utf8(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            out.add(b & 0xff);
        }
        return out;
    }

    private static CompletionRequest withUsage(CompletionRequest r) {
        return new CompletionRequest(r.model(), r.prompt(), r.maxTokens(), r.temperature(), r.topP(), r.seed(), r.stop(),
                r.n(), true, new CompletionRequest.StreamOptions(true), r.logprobs(), r.echo(), null, null, null, null,
                null, null);
    }

    private static void assertParam(String param, org.junit.jupiter.api.function.Executable call) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, call);
        assertEquals(param, e.param(), e.getMessage());
    }
}
