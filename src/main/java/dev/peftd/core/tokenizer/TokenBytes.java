package dev.peftd.core.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The raw bytes each token id stands for, read from tokenizer.json: what decoding cannot tell, because a token that is
 * part of a multi-byte character decodes alone to U+FFFD. Byte-level BPE (GPT-2, Llama 3, Qwen) spells bytes as the
 * printable characters of GPT-2's {@code bytes_to_unicode} table; SentencePiece-style vocabularies with byte fallback
 * (Llama 2, Mistral) have {@code <0xNN>} tokens and {@code ▁} for a space. Added tokens are their content.
 */
final class TokenBytes {

    private static final char METASPACE = '\u2581';

    private final Map<Long, byte[]> bytes = new HashMap<>();

    private TokenBytes() {
    }

    /** @param tokenizerJson the text of tokenizer.json */
    static TokenBytes read(String tokenizerJson) {
        JsonObject root = JsonParser.parseString(tokenizerJson).getAsJsonObject();
        JsonObject model = root.getAsJsonObject("model");
        boolean byteLevel = mentions(root.get("decoder"), "ByteLevel");
        boolean byteFallback = model.has("byte_fallback") && model.get("byte_fallback").getAsBoolean()
                || mentions(root.get("decoder"), "ByteFallback");
        Map<Character, Byte> byteLevelChars = byteLevel ? byteLevelChars() : Map.of();
        TokenBytes out = new TokenBytes();
        JsonElement vocab = model.get("vocab");
        if (vocab != null && vocab.isJsonObject()) {
            for (Map.Entry<String, JsonElement> entry : vocab.getAsJsonObject().entrySet()) {
                out.bytes.put(entry.getValue().getAsLong(), bytes(entry.getKey(), byteLevelChars, byteFallback));
            }
        } else if (vocab != null && vocab.isJsonArray()) {
            JsonArray pieces = vocab.getAsJsonArray();
            for (int i = 0; i < pieces.size(); i++) {
                String piece = pieces.get(i).getAsJsonArray().get(0).getAsString();
                out.bytes.put((long) i, bytes(piece, byteLevelChars, byteFallback));
            }
        }
        if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
            for (JsonElement added : root.getAsJsonArray("added_tokens")) {
                JsonObject token = added.getAsJsonObject();
                out.bytes.put(token.get("id").getAsLong(),
                        token.get("content").getAsString().getBytes(StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** The token's bytes; empty for an id the file does not have. */
    byte[] of(long id) {
        byte[] b = bytes.get(id);
        return b == null ? new byte[0] : b.clone();
    }

    private static byte[] bytes(String token, Map<Character, Byte> byteLevelChars, boolean byteFallback) {
        if (!byteLevelChars.isEmpty()) {
            byte[] out = new byte[token.length() * 4];
            int n = 0;
            for (int i = 0; i < token.length(); i++) {
                Byte b = byteLevelChars.get(token.charAt(i));
                if (b != null) {
                    out[n++] = b;
                } else { // not a byte-level character: its own UTF-8
                    for (byte u : String.valueOf(token.charAt(i)).getBytes(StandardCharsets.UTF_8)) {
                        out[n++] = u;
                    }
                }
            }
            return java.util.Arrays.copyOf(out, n);
        }
        if (byteFallback && token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // an ordinary token that only looks like a byte
            }
        }
        return token.replace(METASPACE, ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** Whether a decoder (or a decoder of its sequence) has this type. */
    private static boolean mentions(JsonElement decoder, String type) {
        if (decoder == null || !decoder.isJsonObject()) {
            return false;
        }
        JsonObject object = decoder.getAsJsonObject();
        if (object.has("type") && type.equals(object.get("type").getAsString())) {
            return true;
        }
        if (object.has("decoders") && object.get("decoders").isJsonArray()) {
            for (JsonElement inner : object.getAsJsonArray("decoders")) {
                if (mentions(inner, type)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * GPT-2's {@code bytes_to_unicode}, inverted: the printable bytes stand for themselves, the other 68 (control
     * characters, space, DEL, and a few Latin-1 ones) for the characters from U+0100 on, in byte order.
     */
    private static Map<Character, Byte> byteLevelChars() {
        Map<Character, Byte> map = new HashMap<>();
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF;
            map.put(printable ? (char) b : (char) (256 + next++), (byte) b);
        }
        return map;
    }
}
