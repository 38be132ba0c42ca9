package dev.peftd.core.generate;

import java.util.List;

/**
 * Text-level stop sequences. Tokens rarely line up with a stop string, so the check runs on the text, and text
 * that might be the beginning of a stop string is held back from the stream until the next tokens decide.
 */
final class StopStrings {

    private final List<String> stops;

    StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** Index of the earliest stop string in {@code text} at or after {@code from}, or -1. */
    int find(CharSequence text, int from) {
        int earliest = -1;
        String s = text.toString();
        for (String stop : stops) {
            int at = s.indexOf(stop, Math.max(0, from - stop.length() + 1));
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
            }
        }
        return earliest;
    }

    /** How many characters at the end of {@code text} could still grow into a stop string. */
    int heldBack(CharSequence text) {
        int longest = 0;
        for (String stop : stops) {
            for (int n = Math.min(stop.length() - 1, text.length()); n > longest; n--) {
                if (endsWith(text, stop, n)) {
                    longest = n;
                    break;
                }
            }
        }
        return longest;
    }

    private static boolean endsWith(CharSequence text, String stop, int n) {
        int offset = text.length() - n;
        for (int i = 0; i < n; i++) {
            if (text.charAt(offset + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
