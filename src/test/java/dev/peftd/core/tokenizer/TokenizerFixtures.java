package dev.peftd.core.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The tokenizer directories and transformers' outputs made by tools/reference/make_tokenizer_fixtures.py. */
final class TokenizerFixtures {

    static final List<String> NAMES = List.of("bytelevel-chatml", "bytelevel-llama3", "bytefallback-llama2", "named-templates",
            "vocab-specials-llama2");

    private TokenizerFixtures() {
    }

    static Path directory(String name) {
        try {
            return Path.of(TokenizerFixtures.class.getResource("/fixtures/tokenizers/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonObject expected(String name) throws IOException {
        return JsonParser.parseString(Files.readString(directory(name).resolve("expected.json"))).getAsJsonObject();
    }

    static long[] ids(JsonElement array) {
        JsonArray a = array.getAsJsonArray();
        long[] ids = new long[a.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = a.get(i).getAsLong();
        }
        return ids;
    }

    static List<ChatMessage> messages(JsonElement array) {
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonElement m : array.getAsJsonArray()) {
            messages.add(new ChatMessage(m.getAsJsonObject().get("role").getAsString(),
                    m.getAsJsonObject().get("content").getAsString()));
        }
        return messages;
    }
}
