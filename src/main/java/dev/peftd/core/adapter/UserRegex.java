package dev.peftd.core.adapter;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A regular expression a user wrote ({@code target_modules}, the keys of {@code rank_pattern} / {@code alpha_pattern}),
 * compiled and evaluated so that no pattern can hold a thread: the source is limited in length, and every evaluation
 * runs on a budget of characters read. java.util.regex backtracks, so {@code (.*){16}Z} needs ~10^15 steps on a
 * 40-character module name; the engine reads the input through {@link CharSequence#charAt} at every step it takes,
 * so counting those reads bounds the work whatever the pattern is.
 *
 * <p>One budget covers one question about one module (does the target regex select it; which pattern key gives its
 * rank, tried key by key), so the work for a whole adapter is at most {@link #STEP_BUDGET} reads times the questions
 * asked: one per module for {@code target_modules}, three for the patterns (rank twice, alpha once). At ~10 ns a read
 * that is ~3 ms a question; a hostile config on a 210-module model costs about a second, then fails naming its field.
 * This is the only place user regexes are compiled or matched.
 */
public final class UserRegex {

    /** PEFT patterns are module names with a few wildcards; 512 characters is far beyond any real one. */
    public static final int MAX_LENGTH = 512;
    /**
     * Characters the engine may read for one module question. A real pattern reads a ~50-character module name a
     * few times (a regex over all projections: ~100 reads); the largest real case, an exported {@code rank_pattern}
     * with one exact key per module of an 80-layer model (560 keys tried in turn), reads ~60,000 for the last module.
     */
    public static final long STEP_BUDGET = 250_000;

    private final String field;
    private final String source;
    private final Pattern pattern;

    private UserRegex(String field, String source, Pattern pattern) {
        this.field = field;
        this.source = source;
        this.pattern = pattern;
    }

    /**
     * Compiles {@code source} to match whole inputs.
     *
     * @param field the config field it came from, named in every refusal (e.g. {@code rank_pattern['q_proj']})
     * @throws AdapterConfigException when it is blank, too long or not a valid regular expression
     */
    public static UserRegex compile(String field, String source) {
        return compile(field, source, "", "");
    }

    /**
     * Compiles {@code prefix + source + suffix}, where only {@code source} came from the user (PEFT wraps pattern
     * keys as {@code (.*\.)?(key)}); the length limit applies to the user's part.
     */
    static UserRegex compile(String field, String source, String prefix, String suffix) {
        if (source == null || source.isBlank()) {
            throw new AdapterConfigException(field, "regular expression is blank");
        }
        if (source.length() > MAX_LENGTH) {
            throw new AdapterConfigException(field, "regular expression is " + source.length()
                    + " characters long; at most " + MAX_LENGTH + " are allowed");
        }
        try {
            return new UserRegex(field, source, Pattern.compile(prefix + source + suffix));
        } catch (PatternSyntaxException e) {
            throw new AdapterConfigException(field, "invalid regular expression '" + source + "': "
                    + e.getDescription());
        }
    }

    /** The user's text, as written. */
    public String source() {
        return source;
    }

    /** Whether the whole of {@code input} matches, on a fresh budget. */
    public boolean matches(String input) {
        return matches(input, new Budget());
    }

    /**
     * Whether the whole of {@code input} matches, drawing on {@code budget} (shared by the patterns asked about the
     * same module).
     *
     * @throws RegexBudgetException naming the field and the module when the budget runs out
     */
    boolean matches(String input, Budget budget) {
        try {
            return pattern.matcher(new CountedInput(input, budget)).matches();
        } catch (Budget.Exhausted e) {
            throw new RegexBudgetException(field, "regular expression '" + source + "' needs more than "
                    + STEP_BUDGET + " steps to match module '" + input + "' (nested repetition such as (.*)* "
                    + "backtracks exponentially); simplify it or list the module names");
        }
    }

    /** Reads the engine may still make for one module question. */
    static final class Budget {
        private long remaining = STEP_BUDGET;

        void spend() {
            if (--remaining < 0) {
                throw new Exhausted();
            }
        }

        /** Thrown through the regex engine; no stack trace, as it is caught one frame up. */
        static final class Exhausted extends RuntimeException {
            Exhausted() {
                super(null, null, false, false);
            }
        }
    }

    /** The input as the engine sees it, one budget step per character read. */
    private record CountedInput(String text, Budget budget) implements CharSequence {

        @Override
        public char charAt(int index) {
            budget.spend();
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new CountedInput(text.substring(start, end), budget);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    @Override
    public String toString() {
        return source;
    }
}
