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
     * The request's own names for what the budget is made of, and which of OpenAI's two sentences it answers with
     * (legacy completions and chat word the context error differently; clients and tests match on them).
     *
     * @param prompt    {@code prompt} (or {@code prompt[i]} in a list) or {@code messages}
     * @param maxTokens {@code max_tokens} or {@code max_completion_tokens}
     * @param chat      chat's sentence ("in the messages") instead of legacy completions' ("in your prompt")
     */
    record Fields(String prompt, String maxTokens, boolean chat) {

        static Fields completions(String promptField) {
            return new Fields(promptField, "max_tokens", false);
        }

        static Fields chat(String maxTokensField) {
            return new Fields("messages", maxTokensField, true);
        }
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
                throw tooLong(limit, promptTokens, null, fields.prompt(), fields);
            }
            return (int) Math.min(Math.min(defaultTokens, cap), room);
        }
        if (requested <= room) {
            return requested;
        }
        boolean promptAloneTooLong = room < Math.min(requested, 1); // max_tokens 0 (scoring) needs no room
        throw tooLong(limit, promptTokens, requested, promptAloneTooLong ? fields.prompt() : fields.maxTokens(), fields);
    }

    /**
     * OpenAI's sentences, word for word: legacy completions' "(P in your prompt; C for the completion)", chat's
     * "(P in the messages, C in the completion)", and chat's "your messages resulted in" when no max_tokens was
     * given. A completion without max_tokens counts the one token it needs at least.
     *
     * @param completionTokens the client's max_tokens, {@code null} when absent
     */
    static InvalidRequestException tooLong(long context, int promptTokens, Integer completionTokens, String param,
                                           Fields fields) {
        String start = "This model's maximum context length is " + context + " tokens";
        if (fields.chat() && completionTokens == null) {
            return new InvalidRequestException(param, start + ". However, your messages resulted in " + promptTokens
                    + " tokens. Please reduce the length of the messages.");
        }
        int completion = completionTokens == null ? 1 : completionTokens;
        long total = (long) promptTokens + completion;
        if (fields.chat()) {
            return new InvalidRequestException(param, start + ". However, you requested " + total + " tokens ("
                    + promptTokens + " in the messages, " + completion + " in the completion). Please reduce the length"
                    + " of the messages or completion.");
        }
        return new InvalidRequestException(param, start + ", however you requested " + total + " tokens ("
                + promptTokens + " in your prompt; " + completion + " for the completion). Please reduce your prompt;"
                + " or completion length.");
    }
}
