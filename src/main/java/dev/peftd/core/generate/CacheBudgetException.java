package dev.peftd.core.generate;

/**
 * A sequence that could never be admitted: its prompt plus its maximum new tokens need more KV-cache positions than
 * the whole cache holds, so waiting would not help.
 */
public final class CacheBudgetException extends IllegalArgumentException {

    public CacheBudgetException(int needed, int capacity) {
        super("the prompt plus max_tokens need " + needed + " KV-cache positions; the serving cache holds at most "
                + capacity + " for all sequences (ask for fewer tokens or a shorter prompt)");
    }
}
