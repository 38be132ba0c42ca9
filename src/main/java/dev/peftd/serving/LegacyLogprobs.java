package dev.peftd.serving;

import dev.peftd.core.generate.TokenLogprob;
import dev.peftd.core.tokenizer.IncrementalDecoder;
import dev.peftd.core.tokenizer.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's legacy {@code logprobs} object for one sequence of tokens (an echoed prompt and what follows it), built
 * token by token as OpenAI shows it:
 * <ul>
 * <li>{@code tokens}: each token's text as it reads in the returned text, so the strings join back to it (leading
 *     spaces kept; SentencePiece's stripped first space stays stripped, as in the text). A token whose bytes are not
 *     whole UTF-8 characters (a piece of a multi-byte character in byte-level BPE or byte fallback) is shown as OpenAI
 *     shows it, {@code bytes:\xNN...} (printable ASCII bytes as themselves); a special token (BOS, EOS) by its name,
 *     such as {@code </s>}, though the text skips it;</li>
 * <li>{@code text_offset}: where each token's text starts, in code points (Python's {@code str} indices), counting
 *     the prompt's text first whether it is echoed or not, as OpenAI does; every piece of a split character starts
 *     where that character does;</li>
 * <li>{@code top_logprobs}: a map from those same strings; two ids with the same string keep the more likely
 *     (the first, since alternatives come most likely first).</li>
 * </ul>
 * A token's string is read in its context (the tokens before it), since SentencePiece decoders look at neighbours.
 */
final class LegacyLogprobs {

    /** Tokens of context decoded in front of a token: enough for decoders that look back a few tokens. */
    private static final int WINDOW = 6;
    private static final String BYTES = "bytes:";

    private final Tokenizer tokenizer;
    private final IncrementalDecoder text;
    private long[] context;
    private int size;
    private int offset;
    private final List<String> tokens = new ArrayList<>();
    private final List<Double> values = new ArrayList<>();
    private final List<Map<String, Double>> tops = new ArrayList<>();
    private final List<Integer> offsets = new ArrayList<>();
    private int taken;

    /**
     * @param context     the tokens before the first one listed (the prompt, when it is not echoed)
     * @param startOffset the code points of text before the first one listed
     */
    LegacyLogprobs(Tokenizer tokenizer, long[] context, int startOffset) {
        this.tokenizer = tokenizer;
        this.text = tokenizer.newIncrementalDecoder(context);
        this.context = Arrays.copyOf(context, Math.max(16, context.length * 2));
        this.size = context.length;
        this.offset = startOffset;
    }

    /** The echoed prompt's first token: nothing precedes it, so it has neither a logprob nor alternatives. */
    void addUnscored(long id) {
        String before = windowText();
        append(id, display(id, before), null, null);
    }

    void add(TokenLogprob lp) {
        String before = windowText();
        String shown = display(lp.tokenId(), before);
        Map<String, Double> top = new LinkedHashMap<>();
        for (TokenLogprob.Alternative alternative : lp.top()) { // the chosen token is often among them: shown once
            top.putIfAbsent(alternative.tokenId() == lp.tokenId() ? shown : display(alternative.tokenId(), before),
                    alternative.logprob());
        }
        append(lp.tokenId(), shown, lp.logprob(), top);
    }

    /** Drops the tokens that start at or after {@code endOffset} (those of a stop string the text was cut at). */
    void keepBefore(int endOffset) {
        int keep = offsets.size();
        while (keep > taken && offsets.get(keep - 1) >= endOffset) {
            keep--;
        }
        for (List<?> list : List.of(tokens, values, tops, offsets)) {
            list.subList(keep, list.size()).clear();
        }
    }

    /** The entries added since the last take (a stream's chunk), or all of them for a whole answer. */
    CompletionResponse.Logprobs take() {
        int from = taken;
        taken = tokens.size();
        return new CompletionResponse.Logprobs(List.copyOf(tokens.subList(from, taken)),
                new ArrayList<>(values.subList(from, taken)), new ArrayList<>(tops.subList(from, taken)),
                List.copyOf(offsets.subList(from, taken)));
    }

    private void append(long id, String shown, Double logprob, Map<String, Double> top) {
        String piece = text.add(id); // the text this token releases: empty while a character is incomplete
        int start = offset;
        if (piece.length() > shown.length() && piece.endsWith(shown)) {
            start += codePoints(piece) - codePoints(shown); // undecodable bytes before it became U+FFFD first
        }
        tokens.add(shown);
        values.add(logprob);
        tops.add(top);
        offsets.add(start);
        offset += codePoints(piece);
        if (size == context.length) {
            context = Arrays.copyOf(context, size * 2);
        }
        context[size++] = id;
    }

    private String windowText() {
        return tokenizer.decode(Arrays.copyOfRange(context, Math.max(0, size - WINDOW), size));
    }

    /** How OpenAI shows token {@code id} after the current context, whose last tokens decode to {@code before}. */
    private String display(long id, String before) {
        if (tokenizer.isSpecial(id)) {
            return tokenizer.decode(new long[] {id}, false);
        }
        byte[] bytes = tokenizer.tokenBytes(id);
        if (!isUtf8(bytes)) {
            return escaped(bytes);
        }
        long[] window = Arrays.copyOfRange(context, Math.max(0, size - WINDOW), size + 1);
        window[window.length - 1] = id;
        String after = tokenizer.decode(window);
        return after.substring(commonPrefix(before, after));
    }

    /** {@code bytes:} then each byte: printable ASCII as itself, any other as {@code \xNN} (lower-case hex). */
    static String escaped(byte[] bytes) {
        StringBuilder out = new StringBuilder(BYTES);
        for (byte b : bytes) {
            int v = b & 0xff;
            if (v >= 0x20 && v < 0x7f && v != '\\') {
                out.append((char) v);
            } else {
                out.append(String.format("\\x%02x", v));
            }
        }
        return out.toString();
    }

    /** The bytes a shown string stands for: {@link #escaped} read back, or the string's UTF-8. */
    static byte[] bytes(String shown) {
        if (!shown.startsWith(BYTES)) {
            return shown.getBytes(StandardCharsets.UTF_8);
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = BYTES.length(); i < shown.length(); ) {
            if (shown.startsWith("\\x", i) && i + 4 <= shown.length()) {
                out.write(Integer.parseInt(shown.substring(i + 2, i + 4), 16));
                i += 4;
            } else {
                out.write(shown.charAt(i++));
            }
        }
        return out.toByteArray();
    }

    private static boolean isUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    static int codePoints(String s) {
        return s.codePointCount(0, s.length());
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }
}
