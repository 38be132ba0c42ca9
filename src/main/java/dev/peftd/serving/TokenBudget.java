package dev.peftd.serving;

/**
 * How many tokens a request may generate, decided here for every endpoint (completions, chat, and whatever adds
 * prompts later): never more than the server's cap ({@code PEFTD_SERVING_MAX_TOKENS_CAP}), and prompt plus
 * completion within the model's context (config.json's {@code max_position_embeddings}), refused otherwise with
 * OpenAI's sentence. A request without {@code max_tokens} gets its endpoint's default, shrunk to the room the prompt
 * leaves. The generator can then trust the number: it never sizes anything from an unchecked request.
 */
final class TokenBudget {

    /**
     * The request's own names for what the budget is made of.
     *
     * @param prompt    {@code prompt} or {@code messages}
     * @param maxTokens {@code max_tokens} or {@code max_completion_tokens}
     */
    record Fields(String prompt, String maxTokens) {
    }

    private final int cap;

    TokenBudget(int cap) {
        if (cap < 1) {
            throw new IllegalArgumentException("the max_tokens cap must be >= 1, got " + cap);
        }
        this.cap = cap;
    }

    int cap() {
        return cap;
    }

    /** The checks that need no model: a client's {@code max_tokens} is >= 0 and within the server's cap. */
    void checkRequested(Integer requested, String field) {
        if (requested == null) {
            return;
        }
        if (requested < 0) {
            throw new InvalidRequestException(field, "must be >= 0, got " + requested);
        }
        if (requested > cap) {
            throw new InvalidRequestException(field, "must be at most " + cap + " on this server, got " + requested);
        }
    }

    /**
     * @param context       the model's context length in tokens; 0 or less when its config does not say
     * @param requested     the client's {@code max_tokens}, {@code null} when absent
     * @param defaultTokens what an absent {@code max_tokens} means ({@link Integer#MAX_VALUE}: all the room left)
     * @return how many tokens to generate at most
     */
    int maxTokens(int context, int promptTokens, Integer requested, int defaultTokens, Fields fields) {
        checkRequested(requested, fields.maxTokens());
        long limit = context > 0 ? context : Long.MAX_VALUE;
        long room = limit - promptTokens;
        if (requested == null) {
            if (room < 1) {
                throw tooLong(limit, promptTokens, 1, fields.prompt(), fields);
            }
            return (int) Math.min(Math.min(defaultTokens, cap), room);
        }
        if (requested <= room) {
            return requested;
        }
        boolean promptAloneTooLong = room < Math.min(requested, 1); // max_tokens 0 (scoring) needs no room
        throw tooLong(limit, promptTokens, requested, promptAloneTooLong ? fields.prompt() : fields.maxTokens(), fields);
    }

    private static InvalidRequestException tooLong(long context, int promptTokens, int completionTokens, String param,
                                                   Fields fields) {
        String prompt = fields.prompt();
        return new InvalidRequestException(param, "This model's maximum context length is " + context
                + " tokens. However, you requested " + ((long) promptTokens + completionTokens) + " tokens ("
                + promptTokens + " in the " + prompt + ", " + completionTokens + " in the completion). Please reduce the"
                + " length of the " + prompt + " or completion.");
    }
}
