package dev.peftd.core.generate;

import dev.peftd.core.tokenizer.IncrementalDecoder;

/**
 * The generated text as it grows, with stop strings applied: decodes token by token, cuts the text at the first
 * stop string, and releases only text that can no longer become part of one.
 */
final class TextStream {

    private final IncrementalDecoder decoder;
    private final StopStrings stops;
    private final StringBuilder text = new StringBuilder();
    private int released;
    private boolean stopped;
    private boolean stoppedByString;

    /** @param decoder {@code null} when there is no tokenizer: then there is no text */
    TextStream(IncrementalDecoder decoder, StopStrings stops) {
        this.decoder = decoder;
        this.stops = stops;
    }

    /** Adds a generated token; returns the text released by it. */
    String add(long token) {
        if (decoder == null || stopped) {
            return "";
        }
        int before = text.length();
        text.append(decoder.add(token));
        if (cutAtStopString(before)) {
            return release(text.length());
        }
        return release(text.length() - stops.heldBack(text));
    }

    /** Ends the stream (stop token or length): releases everything still held, cut at a stop string if one completed. */
    String finish() {
        if (decoder == null || stopped) {
            return "";
        }
        int before = text.length();
        text.append(decoder.flush());
        cutAtStopString(before);
        stopped = true;
        return release(text.length());
    }

    boolean stoppedByString() {
        return stoppedByString;
    }

    private boolean cutAtStopString(int searchFrom) {
        int at = stops.find(text, searchFrom);
        if (at < 0) {
            return false;
        }
        text.setLength(at);
        stopped = true;
        stoppedByString = true;
        return true;
    }

    private String release(int upTo) {
        if (upTo <= released) {
            return "";
        }
        String piece = text.substring(released, upTo);
        released = upTo;
        return piece;
    }

    /** All text released so far. */
    String released() {
        return text.substring(0, released);
    }
}
