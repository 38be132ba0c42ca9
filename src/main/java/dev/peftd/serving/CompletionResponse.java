package dev.peftd.serving;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * The body of a {@code /v1/completions} answer ({@code object: "text_completion"}); streamed chunks have the same
 * shape with one piece of text each and {@code usage} null.
 */
public record CompletionResponse(String id, String object, long created, String model, List<Choice> choices,
                                 Usage usage) {

    static final String OBJECT = "text_completion";

    /** @param finishReason {@code stop} or {@code length}; null in every streamed chunk but the last */
    public record Choice(String text, int index, Logprobs logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    /**
     * OpenAI's legacy logprobs object: parallel lists, one entry per token. With {@code echo} the first prompt token
     * has {@code null} logprob and alternatives (nothing precedes it).
     *
     * @param textOffset character offset of each token in prompt + completion
     */
    public record Logprobs(List<String> tokens,
                           @JsonProperty("token_logprobs") List<Double> tokenLogprobs,
                           @JsonProperty("top_logprobs") List<Map<String, Double>> topLogprobs,
                           @JsonProperty("text_offset") List<Integer> textOffset) {
    }
}
