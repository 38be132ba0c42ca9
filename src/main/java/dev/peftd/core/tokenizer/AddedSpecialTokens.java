package dev.peftd.core.tokenizer;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What transformers does to tokenizer.json on load: every special token of tokenizer_config.json that is not yet an
 * entry of {@code added_tokens} becomes one, so it matches whole in text and {@code skip_special_tokens} drops it.
 * Converted Llama checkpoints need this: their {@code <s>} is id 1 of the vocabulary but no added token, and without
 * it {@code "<s>"} would encode as {@code <}, {@code s}, {@code >}. A token in the vocabulary keeps its id; one found
 * nowhere gets the next free id, as the tokenizers library assigns it.
 */
final class AddedSpecialTokens {

    private AddedSpecialTokens() {
    }

    /**
     * @param tokenizerJson the text of tokenizer.json
     * @return the text with the missing special tokens appended to {@code added_tokens}, or {@code tokenizerJson}
     * itself when none is missing
     * @throws JsonParseException when the text is not a JSON object with a {@code model}
     */
    static String addMissing(String tokenizerJson, List<SpecialToken> specials) {
        JsonObject root = JsonParser.parseString(tokenizerJson).getAsJsonObject();
        JsonObject model = root.getAsJsonObject("model");
        if (model == null) {
            throw new JsonParseException("no 'model' object");
        }
        JsonArray added = root.has("added_tokens") && root.get("added_tokens").isJsonArray()
                ? root.getAsJsonArray("added_tokens") : new JsonArray();
        Set<String> present = new HashSet<>();
        long maxAddedId = -1;
        for (JsonElement entry : added) {
            present.add(entry.getAsJsonObject().get("content").getAsString());
            maxAddedId = Math.max(maxAddedId, entry.getAsJsonObject().get("id").getAsLong());
        }
        int before = added.size();
        for (SpecialToken token : specials) {
            if (!present.add(token.content())) {
                continue;
            }
            OptionalLong vocabularyId = vocabularyId(model.get("vocab"), token.content());
            // tokenizers' AddedVocabulary: after the vocabulary and after every added token
            long id = vocabularyId.isPresent() ? vocabularyId.getAsLong()
                    : Math.max(vocabularySize(model.get("vocab")), maxAddedId + 1);
            maxAddedId = Math.max(maxAddedId, id);
            added.add(entry(id, token));
        }
        if (added.size() == before) {
            return tokenizerJson;
        }
        root.add("added_tokens", added);
        return new GsonBuilder().disableHtmlEscaping().create().toJson(root);
    }

    private static JsonObject entry(long id, SpecialToken token) {
        JsonObject entry = new JsonObject();
        entry.addProperty("id", id);
        entry.addProperty("content", token.content());
        entry.addProperty("single_word", token.singleWord());
        entry.addProperty("lstrip", token.lstrip());
        entry.addProperty("rstrip", token.rstrip());
        entry.addProperty("normalized", token.normalized());
        entry.addProperty("special", true);
        return entry;
    }

    /** BPE, WordPiece and WordLevel store {@code {token: id}}; Unigram a list of {@code [piece, score]} (id = index). */
    private static OptionalLong vocabularyId(JsonElement vocab, String token) {
        if (vocab != null && vocab.isJsonObject()) {
            JsonElement id = vocab.getAsJsonObject().get(token);
            return id == null ? OptionalLong.empty() : OptionalLong.of(id.getAsLong());
        }
        if (vocab != null && vocab.isJsonArray()) {
            JsonArray pieces = vocab.getAsJsonArray();
            for (int i = 0; i < pieces.size(); i++) {
                JsonElement piece = pieces.get(i);
                if (piece.isJsonArray() && token.equals(piece.getAsJsonArray().get(0).getAsString())) {
                    return OptionalLong.of(i);
                }
            }
        }
        return OptionalLong.empty();
    }

    private static long vocabularySize(JsonElement vocab) {
        if (vocab != null && vocab.isJsonObject()) {
            return vocab.getAsJsonObject().size();
        }
        return vocab != null && vocab.isJsonArray() ? vocab.getAsJsonArray().size() : 0;
    }
}
