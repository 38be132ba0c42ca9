package dev.peftd.core.generate;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * How to continue a prompt. Temperature 0 is greedy (argmax, no randomness); above 0 tokens are sampled from the
 * softmax of {@code logits / temperature}, restricted to the smallest set of most likely tokens whose
 * probabilities reach {@code topP} (transformers' TopPLogitsWarper), with a seeded random generator so that the
 * same seed gives the same output.
 *
 * @param maxTokens    most tokens to generate (the prompt is not counted)
 * @param seed         empty: a different sample each run
 * @param stopStrings  text that ends generation; the text is cut just before it
 * @param stopTokenIds token ids that end generation; empty: the model's and the tokenizer's EOS ids
 * @param logprobs     {@link #NO_LOGPROBS}, or how many alternatives to report besides the chosen token (0 = only it)
 */
public record GenerationOptions(int maxTokens, double temperature, double topP, OptionalLong seed,
                                List<String> stopStrings, long[] stopTokenIds, int logprobs) {

    public static final int NO_LOGPROBS = -1;
    /** OpenAI's limit for top logprobs; also keeps the per-token work small. */
    public static final int MAX_LOGPROBS = 20;

    public GenerationOptions {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (logprobs < NO_LOGPROBS || logprobs > MAX_LOGPROBS) {
            throw new IllegalArgumentException("logprobs must be between 0 and " + MAX_LOGPROBS + ", got " + logprobs);
        }
        stopStrings = List.copyOf(stopStrings);
        if (stopStrings.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("stop strings must not be empty");
        }
        stopTokenIds = stopTokenIds.clone();
    }

    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, 0, 1, OptionalLong.empty(), List.of(), new long[0], NO_LOGPROBS);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public GenerationOptions withSampling(double newTemperature, double newTopP, OptionalLong newSeed) {
        return new GenerationOptions(maxTokens, newTemperature, newTopP, newSeed, stopStrings, stopTokenIds, logprobs);
    }

    public GenerationOptions withMaxTokens(int tokens) {
        return new GenerationOptions(tokens, temperature, topP, seed, stopStrings, stopTokenIds, logprobs);
    }

    public GenerationOptions withStopStrings(List<String> strings) {
        return new GenerationOptions(maxTokens, temperature, topP, seed, strings, stopTokenIds, logprobs);
    }

    public GenerationOptions withStopTokenIds(long... ids) {
        return new GenerationOptions(maxTokens, temperature, topP, seed, stopStrings, ids, logprobs);
    }

    public GenerationOptions withLogprobs(int alternatives) {
        return new GenerationOptions(maxTokens, temperature, topP, seed, stopStrings, stopTokenIds, alternatives);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationOptions g && maxTokens == g.maxTokens && temperature == g.temperature
                && topP == g.topP && seed.equals(g.seed) && stopStrings.equals(g.stopStrings)
                && Arrays.equals(stopTokenIds, g.stopTokenIds) && logprobs == g.logprobs;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(stopTokenIds) + java.util.Objects.hash(maxTokens, temperature, topP, seed, stopStrings, logprobs);
    }

    @Override
    public String toString() {
        return "GenerationOptions[maxTokens=" + maxTokens + ", temperature=" + temperature + ", topP=" + topP
                + ", seed=" + seed + ", stopStrings=" + stopStrings + ", stopTokenIds=" + Arrays.toString(stopTokenIds)
                + ", logprobs=" + logprobs + "]";
    }
}
