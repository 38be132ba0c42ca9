package dev.peftd.core.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What peftd reads from {@code tokenizer_config.json}: the BOS/EOS token strings and the chat templates.
 * Everything else in that file either duplicates tokenizer.json or is ignored by transformers 5 as well
 * ({@code add_bos_token} when tokenizer.json exists, {@code clean_up_tokenization_spaces} for BPE).
 *
 * @param chatTemplates by name; a single string template is stored under {@code "default"}
 */
record TokenizerConfigFile(String bosToken, String eosToken, Map<String, String> chatTemplates) {

    static final String DEFAULT_TEMPLATE = "default";

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
        return new TokenizerConfigFile(config.bosToken(), config.eosToken(), templates);
    }

    private static TokenizerConfigFile readJson(Path file) {
        if (!Files.exists(file)) {
            return new TokenizerConfigFile(null, null, Map.of());
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
        return new TokenizerConfigFile(tokenString(root, "bos_token", file), tokenString(root, "eos_token", file),
                chatTemplates(root, file));
    }

    /** Special tokens are a plain string or an AddedToken object {@code {"content": "<s>", ...}}; null is allowed. */
    private static String tokenString(JsonObject root, String key, Path file) {
        JsonElement value = root.get(key);
        if (value == null || value.isJsonNull()) {
            return null;
        }
        if (value.isJsonPrimitive()) {
            return value.getAsString();
        }
        if (value.isJsonObject() && value.getAsJsonObject().has("content")) {
            return value.getAsJsonObject().get("content").getAsString();
        }
        throw new TokenizerException(file + ": '" + key + "' must be a string or an object with 'content'");
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
