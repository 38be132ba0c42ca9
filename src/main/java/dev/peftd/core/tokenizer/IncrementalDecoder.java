package dev.peftd.core.tokenizer;

import java.util.Arrays;

/**
 * Turns a stream of token ids into a stream of text pieces whose concatenation is the decoded text.
 *
 * <p>Two things make per-token decoding wrong: a multi-byte character may be split across tokens (byte-level
 * BPE, SentencePiece byte fallback), and decoders that look at neighbours (SentencePiece's leading-space strip)
 * give a different text for a token alone than in context. So each step decodes a short window of recent ids
 * twice, without and with the new token, and emits the difference; while the text ends in an incomplete
 * character (U+FFFD) nothing is emitted and the bytes wait for the next token.
 */
public final class IncrementalDecoder {

    /** Tokens of context kept before the unread ones, enough for decoders that look back a few tokens. */
    private static final int CONTEXT_TOKENS = 6;
    private static final String INCOMPLETE = "\uFFFD";

    private final Tokenizer tokenizer;
    private long[] ids;
    private int size;
    private int prefixOffset;
    private int readOffset;

    IncrementalDecoder(Tokenizer tokenizer, long[] contextIds) {
        this.tokenizer = tokenizer;
        this.ids = Arrays.copyOf(contextIds, Math.max(16, contextIds.length * 2));
        this.size = contextIds.length;
        this.readOffset = size;
        this.prefixOffset = Math.max(0, size - CONTEXT_TOKENS);
    }

    /** Adds one token and returns the text it completes (possibly empty while a character is still incomplete). */
    public String add(long tokenId) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = tokenId;
        String prefixText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset));
        String fullText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size));
        if (fullText.length() <= prefixText.length() || fullText.endsWith(INCOMPLETE)) {
            return "";
        }
        prefixOffset = readOffset;
        readOffset = size;
        return fullText.startsWith(prefixText) ? fullText.substring(prefixText.length())
                : fullText.substring(commonPrefixLength(prefixText, fullText));
    }

    /** Text still held back at the end of the stream (an incomplete character decodes to U+FFFD, as in transformers). */
    public String flush() {
        String prefixText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset));
        String fullText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size));
        readOffset = size;
        prefixOffset = size;
        return fullText.length() > prefixText.length() ? fullText.substring(commonPrefixLength(prefixText, fullText)) : "";
    }

    private static int commonPrefixLength(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }
}
