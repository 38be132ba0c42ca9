package dev.peftd.serving;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * {@code POST /v1/completions} in OpenAI's shape. {@code prompt} is a string, an array of strings, an array of token
 * ids, or an array of token-id arrays ({@link PromptIds}); {@code n} choices per prompt, {@code best_of} candidates
 * to pick them from; {@code logprobs} asks for that many top tokens per position; {@code echo} puts the prompt (and
 * its tokens' logprobs) in front of the completion.
 */
public record CompletionRequest(
        String model,
        Object prompt,
        @JsonProperty("max_tokens") Integer maxTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        Long seed,
        Object stop,
        Integer n,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        Integer logprobs,
        Boolean echo,
        @JsonProperty("best_of") Integer bestOf,
        String suffix,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        @JsonProperty("logit_bias") Map<String, Object> logitBias,
        String user) {

    /** OpenAI's default for completions. */
    public static final int DEFAULT_MAX_TOKENS = 16;

    /** @param includeUsage send a last chunk with the usage counts before {@code [DONE]} */
    public record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {
    }

    public static CompletionRequest of(String model, Object prompt, Integer maxTokens) {
        return new CompletionRequest(model, prompt, maxTokens, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null);
    }

    public CompletionRequest withLogprobs(Integer top, boolean echoPrompt) {
        return new CompletionRequest(model, prompt, maxTokens, temperature, topP, seed, stop, n, stream, streamOptions,
                top, echoPrompt, bestOf, suffix, presencePenalty, frequencyPenalty, logitBias, user);
    }

    public CompletionRequest withSampling(Double newTemperature, Double newTopP, Long newSeed) {
        return new CompletionRequest(model, prompt, maxTokens, newTemperature, newTopP, newSeed, stop, n, stream,
                streamOptions, logprobs, echo, bestOf, suffix, presencePenalty, frequencyPenalty, logitBias, user);
    }

    boolean isStream() {
        return Boolean.TRUE.equals(stream);
    }

    boolean isEcho() {
        return Boolean.TRUE.equals(echo);
    }

    boolean includeUsageInStream() {
        return streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
    }

    SamplingFields sampling() {
        return new SamplingFields(maxTokens, temperature, topP, seed, stop, n, presencePenalty, frequencyPenalty);
    }
}
