package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * What one request may cost: prompt plus max_tokens within the model's context (OpenAI's 400 and wording), the
 * server's max_tokens cap, the default max_tokens, and the wall-clock bound on a generation.
 */
class ServingLimitsTest {

    private static final int CONTEXT = 128; // tiny-llama's and tiny-qwen2's max_position_embeddings

    @AutoClose
    private static final ServingFixtures serving = new ServingFixtures(64L << 20, 2, Long.MAX_VALUE, new ServingLimits(1000, Duration.ofMinutes(1)));

    @Test
    void promptPlusMaxTokensPastTheContextIsRefusedWithOpenAisSentence() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> serving.completions.complete(model, CompletionRequest.of(model.name(), ids(100), 29)));
        assertThat(e.param()).isEqualTo("max_tokens");
        assertThat(e.getMessage()).isEqualTo("max_tokens: This model's maximum context length is 128 tokens, however"
                + " you requested 129 tokens (100 in your prompt; 29 for the completion). Please reduce your prompt; or"
                + " completion length.");
        CompletionResponse fits = serving.completions.complete(model,
                CompletionRequest.of(model.name(), ids(100), 28).withSampling(0.0, null, null));
        assertThat(fits.usage().promptTokens() + fits.usage().completionTokens()).isLessThanOrEqualTo(CONTEXT);

        ServedModel chatModel = ServingFixtures.base("tiny-qwen2");
        InvalidRequestException chat = assertThrows(InvalidRequestException.class, () -> serving.chat.complete(chatModel,
                ChatCompletionRequest.of(chatModel.name(), List.of(ChatCompletionRequest.Message.of("user", "hi")), 500)));
        assertThat(chat.param()).isEqualTo("max_tokens");
        assertThat(chat.getMessage()).contains("maximum context length is 128 tokens", "in the messages, 500 in the completion",
                "Please reduce the length of the messages or completion.");
    }

    @Test
    void aPromptLongerThanTheContextIsRefusedBeforeAnyCompute() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        assertParam("prompt", () -> serving.completions.complete(model, CompletionRequest.of(model.name(), ids(129), 0)
                .withLogprobs(1, true)), "(129 in your prompt; 0 for the completion)");
        // scoring the whole context with max_tokens 0 is allowed; one token more is not
        CompletionResponse scored = serving.completions.complete(model,
                CompletionRequest.of(model.name(), ids(CONTEXT), 0).withLogprobs(1, true));
        assertThat(scored.choices().get(0).logprobs().tokenLogprobs()).hasSize(CONTEXT);
        // 50 KB of text: was 400 "capacity < 0" (and 1 MB a 500) from deep inside the forward pass
        String longText = "hello world ".repeat(50_000 / 12);
        assertParam("prompt", () -> serving.completions.complete(model, CompletionRequest.of(model.name(), longText, null)),
                "maximum context length is 128 tokens");
        assertParam("prompt", () -> serving.completions.complete(model, CompletionRequest.of(model.name(), longText, null)
                .withLogprobs(0, true)), "maximum context length is 128 tokens");
        ServedModel chatModel = ServingFixtures.base("tiny-qwen2");
        assertParam("messages", () -> serving.chat.complete(chatModel, ChatCompletionRequest.of(chatModel.name(),
                List.of(ChatCompletionRequest.Message.of("user", longText)), null)), "However, your messages resulted in");
        assertParam("messages", () -> serving.chat.openStream(chatModel, ChatCompletionRequest.of(chatModel.name(),
                List.of(ChatCompletionRequest.Message.of("user", longText)), 5)), "in the messages");
    }

    @Test
    void maxTokensAboveTheServersCapIsRefusedBeforeTheModelIsOpened() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        assertParam("max_tokens", () -> serving.completions.complete(model,
                CompletionRequest.of(model.name(), "hi", 1_000_000_000)), "must be at most 1000 on this server");
        assertParam("max_tokens", () -> serving.completions.openStream(model,
                CompletionRequest.of(model.name(), "hi", 1001)), "must be at most 1000");
        ChatCompletionRequest chat = new ChatCompletionRequest(model.name(),
                List.of(ChatCompletionRequest.Message.of("user", "hi")), null, 100_000_000, null, null, null, null, null,
                null, null, null, null, null, null, null, null);
        assertParam("max_completion_tokens", () -> serving.chat.complete(ServingFixtures.base("tiny-qwen2"), chat),
                "must be at most 1000");
    }

    @Test
    void withoutMaxTokensChatMayUseTheRoomLeftAndCompletionsKeepOpenAisSixteen() {
        ServedModel chatModel = ServingFixtures.base("tiny-qwen2");
        ChatCompletionRequest chat = new ChatCompletionRequest(chatModel.name(),
                List.of(ChatCompletionRequest.Message.of("user", "hi")), null, null, 0.0, null, null, null, null, null,
                null, null, null, null, null, null, null);
        ChatCompletionResponse answer = serving.chat.complete(chatModel, chat);
        Usage usage = answer.usage();
        if (answer.choices().get(0).finishReason().equals("length")) {
            assertThat(usage.promptTokens() + usage.completionTokens()).isEqualTo(CONTEXT);
        }
        assertThat(usage.completionTokens()).as("more than the old default of 256 would not fit")
                .isLessThanOrEqualTo(CONTEXT - usage.promptTokens());

        ServedModel model = ServingFixtures.base("tiny-llama");
        CompletionResponse completion = serving.completions.complete(model,
                CompletionRequest.of(model.name(), ids(120), null).withSampling(0.0, null, null));
        assertThat(completion.usage().completionTokens()).as("16 shrunk to the 8 tokens left").isLessThanOrEqualTo(8);
        CompletionResponse shortPrompt = serving.completions.complete(model,
                CompletionRequest.of(model.name(), ids(5), null).withSampling(0.0, null, null));
        assertThat(shortPrompt.usage().completionTokens()).isLessThanOrEqualTo(CompletionRequest.DEFAULT_MAX_TOKENS);
    }

    @Test
    void aGenerationEndsAtTheRequestTimeoutWithWhatItHas() throws Exception {
        Duration timeout = Duration.ofMillis(300);
        try (ServingFixtures bounded = new ServingFixtures(64L << 20, 1, Long.MAX_VALUE, new ServingLimits(4000, timeout))) {
            ServedModel model = ServedModel.base("tiny-llama-4k", ServingFixtures.longContextLlama());
            CompletionRequest request = CompletionRequest.of(model.name(), ids(4), 4000).withSampling(0.0, null, null);
            bounded.completions.complete(model, CompletionRequest.of(model.name(), ids(4), 1)); // load outside the clock
            long start = System.nanoTime();
            CompletionResponse answer = bounded.completions.complete(model, request);
            long millis = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("generation bounded at %d ms: %d tokens, finish %s%n", millis,
                    answer.usage().completionTokens(), answer.choices().get(0).finishReason());
            assertThat(answer.choices().get(0).finishReason()).isEqualTo("length");
            assertThat(answer.usage().completionTokens()).isPositive().isLessThan(4000);
            assertThat(millis).isLessThan(timeout.toMillis() + 2000);
            assertThat(bounded.registry.find("peftd.serving.generations.stopped").tag("reason", "timeout").counter()
                    .count()).isEqualTo(1.0);
            assertThat(bounded.engine.generating()).isZero();
        }
    }

    private static List<Long> ids(int n) {
        return LongStream.range(0, n).map(i -> 3 + (i * 7) % 300).boxed().toList();
    }

    private static void assertParam(String param, org.junit.jupiter.api.function.Executable call, String message) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, call);
        assertThat(e.param()).as(e.getMessage()).isEqualTo(param);
        assertThat(e.getMessage()).contains(message);
    }
}
