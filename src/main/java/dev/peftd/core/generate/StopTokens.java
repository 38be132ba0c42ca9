package dev.peftd.core.generate;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The token ids that end a generation by default: config.json's {@code eos_token_id}, the tokenizer's EOS token
 * and {@code generation_config.json}'s {@code eos_token_id} (a number or a list: Llama 3 Instruct ends turns with
 * {@code <|eot_id|>}, which only generation_config.json names), as transformers' generate unions them.
 */
public final class StopTokens {

    private StopTokens() {
    }

    /** @param tokenizer may be {@code null} */
    public static long[] forModel(Path modelDirectory, ModelConfig config, Tokenizer tokenizer) {
        Set<Long> ids = configAndTokenizer(config, tokenizer);
        ids.addAll(fromGenerationConfig(modelDirectory.resolve("generation_config.json")));
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /** config.json's and the tokenizer's EOS ids, for a model whose directory is not at hand. */
    public static long[] of(ModelConfig config, Tokenizer tokenizer) {
        return configAndTokenizer(config, tokenizer).stream().mapToLong(Long::longValue).toArray();
    }

    private static Set<Long> configAndTokenizer(ModelConfig config, Tokenizer tokenizer) {
        Set<Long> ids = new LinkedHashSet<>();
        Arrays.stream(config.eosTokenIds()).forEach(id -> ids.add((long) id));
        if (tokenizer != null) {
            tokenizer.eosTokenId().ifPresent(ids::add);
        }
        return ids;
    }

    private static Set<Long> fromGenerationConfig(Path file) {
        Set<Long> ids = new LinkedHashSet<>();
        if (!Files.isRegularFile(file)) {
            return ids;
        }
        JsonElement eos;
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            eos = root.isJsonObject() ? root.getAsJsonObject().get("eos_token_id") : null;
        } catch (IOException | JsonParseException e) {
            throw new IllegalArgumentException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (eos == null || eos.isJsonNull()) {
            return ids;
        }
        try {
            if (eos.isJsonArray()) {
                eos.getAsJsonArray().forEach(id -> ids.add(id.getAsLong()));
            } else {
                ids.add(eos.getAsLong());
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": eos_token_id must be a token id or a list of them, got " + eos, e);
        }
        return ids;
    }
}
