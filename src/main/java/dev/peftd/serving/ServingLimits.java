package dev.peftd.serving;

import java.time.Duration;

/**
 * What one request may cost the serving engine.
 *
 * @param maxTokensCap   the most tokens one request may ask to generate ({@code PEFTD_SERVING_MAX_TOKENS_CAP})
 * @param requestTimeout wall-clock time one generation may compute once it has its compute slot
 *                       ({@code PEFTD_SERVING_REQUEST_TIMEOUT}); then it ends as if max_tokens were reached
 */
public record ServingLimits(int maxTokensCap, Duration requestTimeout) {

    public static final ServingLimits DEFAULTS = new ServingLimits(4096, Duration.ofMinutes(5));

    public ServingLimits {
        if (maxTokensCap < 1) {
            throw new IllegalArgumentException("max tokens cap must be >= 1, got " + maxTokensCap);
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("request timeout must be positive, got " + requestTimeout);
        }
    }
}
