package dev.peftd.serving;

/**
 * How much one {@code /v1/completions} request may ask for, so that one request cannot take the whole server.
 *
 * @param maxPrompts prompts in one request's {@code prompt} list ({@code PEFTD_SERVING_MAX_PROMPTS_PER_REQUEST})
 * @param maxChoices generations one request may start: prompts × {@code best_of} (or × {@code n})
 *                   ({@code PEFTD_SERVING_MAX_CHOICES_PER_REQUEST})
 */
public record CompletionLimits(int maxPrompts, int maxChoices) {

    public CompletionLimits {
        if (maxPrompts < 1 || maxChoices < 1) {
            throw new IllegalArgumentException("completion limits must be >= 1, got " + maxPrompts + " prompts and "
                    + maxChoices + " choices");
        }
    }
}
