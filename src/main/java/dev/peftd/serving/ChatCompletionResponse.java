package dev.peftd.serving;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** The body of a {@code /v1/chat/completions} answer ({@code object: "chat.completion"}). */
public record ChatCompletionResponse(String id, String object, long created, String model, List<Choice> choices,
                                     Usage usage) {

    static final String OBJECT = "chat.completion";

    public record Choice(int index, Message message, Logprobs logprobs,
                         @JsonProperty("finish_reason") String finishReason) {
    }

    /** The assistant's answer; {@code refusal} is always null (OpenAI's SDKs expect the key). */
    public record Message(String role, String content, String refusal) {
    }

    /** {@code logprobs.content}: one entry per generated token. */
    public record Logprobs(List<TokenLogprob> content) {
    }

    /** @param bytes the token text's UTF-8 bytes */
    public record TokenLogprob(String token, double logprob, List<Integer> bytes,
                               @JsonProperty("top_logprobs") List<TopLogprob> topLogprobs) {
    }

    public record TopLogprob(String token, double logprob, List<Integer> bytes) {
    }

    /** A streamed piece ({@code object: "chat.completion.chunk"}). */
    public record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices, Usage usage) {
        static final String OBJECT = "chat.completion.chunk";
    }

    public record ChunkChoice(int index, Delta delta, Logprobs logprobs,
                              @JsonProperty("finish_reason") String finishReason) {
    }

    /** The first chunk carries the role, the others pieces of content. */
    public record Delta(String role, String content) {
    }
}
