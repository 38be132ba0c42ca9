package dev.peftd.serving;

import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/chat/completions} in OpenAI's shape; the messages are rendered with the base model's chat
 * template. {@code content} is a string or an array of {@code {"type": "text", "text": …}} parts.
 *
 * @param otherFields every other field the request carries, by name: OpenAI's fields that would change the answer
 *                    and that peftd cannot honour (tools, response_format, …) are refused from here
 *                    ({@link ChatFieldsNotServed}), the rest ({@code user}, {@code store}, …) do not change it
 */
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        @JsonProperty("max_tokens") Integer maxTokens,
        @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        Long seed,
        Object stop,
        Integer n,
        Boolean stream,
        @JsonProperty("stream_options") CompletionRequest.StreamOptions streamOptions,
        Boolean logprobs,
        @JsonProperty("top_logprobs") Integer topLogprobs,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        String user,
        @JsonAnySetter Map<String, Object> otherFields) {

    /**
     * Used when the request sets neither max_tokens nor max_completion_tokens: as OpenAI does, all the room the
     * messages leave in the context, within the server's max_tokens cap.
     */
    public static final int DEFAULT_MAX_TOKENS = Integer.MAX_VALUE;

    public record Message(String role, Object content, String name) {
        public static Message of(String role, String content) {
            return new Message(role, content, null);
        }
    }

    public static ChatCompletionRequest of(String model, List<Message> messages, Integer maxTokens) {
        return new ChatCompletionRequest(model, messages, maxTokens, null, null, null, null, null, null, null, null,
                null, null, null, null, null, Map.of());
    }

    boolean isStream() {
        return Boolean.TRUE.equals(stream);
    }

    boolean includeUsageInStream() {
        return streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
    }

    /** The field that limits the output: the newer {@code max_completion_tokens} wins over {@code max_tokens}. */
    String maxTokensField() {
        return maxCompletionTokens != null ? "max_completion_tokens" : "max_tokens";
    }

    SamplingFields sampling() {
        return new SamplingFields(maxCompletionTokens != null ? maxCompletionTokens : maxTokens, temperature, topP, seed,
                stop, n, presencePenalty, frequencyPenalty);
    }
}
