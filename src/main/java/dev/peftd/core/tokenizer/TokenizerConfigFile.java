package dev.peftd.core.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What peftd reads from {@code tokenizer_config.json}: the special tokens and the chat templates.
 * Everything else in that file either duplicates tokenizer.json or is ignored by transformers 5 as well
 * ({@code add_bos_token} when tokenizer.json exists, {@code clean_up_tokenization_spaces} for BPE).
 *
 * @param specialTokens every named special token (in transformers' order) and then the extra ones, as transformers
 *                      adds them to the tokenizer on load ({@link AddedSpecialTokens})
 * @param chatTemplates by name; a single string template is stored under {@code "default"}
 */
record TokenizerConfigFile(String bosToken, String eosToken, List<SpecialToken> specialTokens,
                           Map<String, String> chatTemplates) {

    static final String DEFAULT_TEMPLATE = "default";
    /** transformers 5's {@code SPECIAL_TOKENS_ATTRIBUTES}, in its order (which decides the ids of new tokens). */
    private static final List<String> NAMED_SPECIAL_TOKENS =
            List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token");

    /**
     * Reads {@code tokenizer_config.json} in {@code directory}; a {@code chat_template.jinja} beside it (how
     * transformers 5 saves templates) is the default template and wins over one inside the JSON.
     */
    static TokenizerConfigFile read(Path directory) {
        TokenizerConfigFile config = readJson(directory.resolve("tokenizer_config.json"));
        Path jinja = directory.resolve("chat_template.jinja");
        if (!Files.isRegularFile(jinja)) {
            return config;
        }
        Map<String, String> templates = new LinkedHashMap<>(config.chatTemplates());
        try {
            templates.put(DEFAULT_TEMPLATE, Files.readString(jinja));
        } catch (IOException e) {
            throw new TokenizerException(jinja + ": cannot read: " + e.getMessage(), e);
        }
        return new TokenizerConfigFile(config.bosToken(), config.eosToken(), config.specialTokens(), templates);
    }

    private static TokenizerConfigFile readJson(Path file) {
        if (!Files.exists(file)) {
            return new TokenizerConfigFile(null, null, List.of(), Map.of());
        }
        JsonObject root;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(file));
            if (!parsed.isJsonObject()) {
                throw new TokenizerException(file + ": expected a JSON object");
            }
            root = parsed.getAsJsonObject();
        } catch (IOException | JsonParseException e) {
            throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
        }
        List<SpecialToken> specials = new ArrayList<>();
        for (String key : NAMED_SPECIAL_TOKENS) {
            SpecialToken token = specialToken(root.get(key), key, file);
            if (token != null) {
                specials.add(token);
            }
        }
        specials.addAll(extraSpecialTokens(root, file));
        SpecialToken bos = specialToken(root.get("bos_token"), "bos_token", file);
        SpecialToken eos = specialToken(root.get("eos_token"), "eos_token", file);
        return new TokenizerConfigFile(bos == null ? null : bos.content(), eos == null ? null : eos.content(),
                List.copyOf(specials), chatTemplates(root, file));
    }

    /**
     * {@code extra_special_tokens} (transformers 5: a list, or an object of named tokens) or, in older files,
     * {@code additional_special_tokens} (a list).
     */
    private static List<SpecialToken> extraSpecialTokens(JsonObject root, Path file) {
        String key = root.has("extra_special_tokens") ? "extra_special_tokens" : "additional_special_tokens";
        JsonElement value = root.get(key);
        List<SpecialToken> extras = new ArrayList<>();
        if (value == null || value.isJsonNull()) {
            return extras;
        }
        Iterable<JsonElement> entries;
        if (value.isJsonArray()) {
            entries = value.getAsJsonArray();
        } else if (value.isJsonObject()) {
            entries = value.getAsJsonObject().asMap().values();
        } else {
            throw new TokenizerException(file + ": '" + key + "' must be a list of tokens");
        }
        for (JsonElement entry : entries) {
            SpecialToken token = specialToken(entry, key, file);
            if (token != null) {
                extras.add(token);
            }
        }
        return extras;
    }

    /** A plain string or an AddedToken object {@code {"content": "<s>", "lstrip": false, ...}}; null is allowed. */
    private static SpecialToken specialToken(JsonElement value, String key, Path file) {
        if (value == null || value.isJsonNull()) {
            return null;
        }
        if (value.isJsonPrimitive()) {
            return SpecialToken.of(value.getAsString());
        }
        JsonObject object = value.isJsonObject() ? value.getAsJsonObject() : null;
        if (object == null || !object.has("content") || !object.get("content").isJsonPrimitive()) {
            throw new TokenizerException(file + ": '" + key + "' must be a string or an object with 'content'");
        }
        return new SpecialToken(object.get("content").getAsString(), flag(object, "single_word"),
                flag(object, "lstrip"), flag(object, "rstrip"), flag(object, "normalized"));
    }

    private static boolean flag(JsonObject token, String name) {
        JsonElement value = token.get(name);
        return value != null && value.isJsonPrimitive() && value.getAsBoolean();
    }

    /** {@code chat_template} is a string, or (since transformers 4.41) a list of {@code {"name", "template"}}. */
    private static Map<String, String> chatTemplates(JsonObject root, Path file) {
        JsonElement value = root.get("chat_template");
        Map<String, String> templates = new LinkedHashMap<>();
        if (value == null || value.isJsonNull()) {
            return templates;
        }
        if (value.isJsonPrimitive()) {
            templates.put(DEFAULT_TEMPLATE, value.getAsString());
            return templates;
        }
        if (!value.isJsonArray()) {
            throw new TokenizerException(file + ": 'chat_template' must be a string or a list of {name, template}");
        }
        for (JsonElement entry : value.getAsJsonArray()) {
            JsonObject named = entry.isJsonObject() ? entry.getAsJsonObject() : null;
            if (named == null || !named.has("name") || !named.has("template")) {
                throw new TokenizerException(file + ": every 'chat_template' list entry needs 'name' and 'template'");
            }
            templates.put(named.get("name").getAsString(), named.get("template").getAsString());
        }
        return templates;
    }
}
