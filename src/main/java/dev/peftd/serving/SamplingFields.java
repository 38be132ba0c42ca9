package dev.peftd.serving;

import dev.peftd.core.generate.GenerationOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The request fields completions and chat completions share, checked and turned into {@link GenerationOptions}
 * with OpenAI's defaults (temperature 1, top_p 1, no seed: a new sample every call). Each check names the field.
 */
record SamplingFields(Integer maxTokens, Double temperature, Double topP, Long seed, Object stop, Integer n,
                      Double presencePenalty, Double frequencyPenalty) {

    /** OpenAI accepts up to 4 stop sequences. */
    static final int MAX_STOP_STRINGS = 4;

    /**
     * Checks the sampling fields; {@code maxTokens} is checked by {@link TokenBudget}, which needs the prompt's
     * length.
     *
     * @param logprobs {@link GenerationOptions#NO_LOGPROBS} or how many alternatives to report
     * @return options whose max tokens is 1: the caller sets the real number once the prompt is counted
     */
    GenerationOptions toOptions(int logprobs) {
        requireZero(presencePenalty, "presence_penalty");
        requireZero(frequencyPenalty, "frequency_penalty");
        double t = temperature == null ? 1.0 : temperature;
        if (!(t >= 0 && t <= 2)) {
            throw new InvalidRequestException("temperature", "must be between 0 and 2, got " + t);
        }
        double p = topP == null ? 1.0 : topP;
        if (!(p > 0 && p <= 1)) {
            throw new InvalidRequestException("top_p", "must be in (0, 1], got " + p);
        }
        return new GenerationOptions(1, t, p, seed == null ? OptionalLong.empty() : OptionalLong.of(seed), stopStrings(),
                new long[0], logprobs);
    }

    /** {@code n}: how many choices to return per prompt, at least 1 (OpenAI's default 1). */
    int choices() {
        if (n != null && n < 1) {
            throw new InvalidRequestException("n", "must be at least 1, got " + n);
        }
        return n == null ? 1 : n;
    }

    private static void requireZero(Double value, String field) {
        if (value != null && value != 0) {
            throw new InvalidRequestException(field, "is not supported (only 0), got " + value);
        }
    }

    private List<String> stopStrings() {
        if (stop == null) {
            return List.of();
        }
        if (stop instanceof String s) {
            return requireNonEmpty(List.of(s));
        }
        if (stop instanceof List<?> list) {
            if (list.size() > MAX_STOP_STRINGS) {
                throw new InvalidRequestException("stop", "at most " + MAX_STOP_STRINGS + " sequences, got " + list.size());
            }
            List<String> strings = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new InvalidRequestException("stop", "must be a string or an array of strings");
                }
                strings.add(s);
            }
            return requireNonEmpty(strings);
        }
        throw new InvalidRequestException("stop", "must be a string or an array of strings");
    }

    private static List<String> requireNonEmpty(List<String> strings) {
        if (strings.stream().anyMatch(String::isEmpty)) {
            throw new InvalidRequestException("stop", "stop sequences must not be empty");
        }
        return strings;
    }
}
