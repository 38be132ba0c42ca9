package dev.peftd.core.train.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.peftd.core.tokenizer.ChatMessage;
import dev.peftd.core.tokenizer.ChatTemplateException;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.tokenizer.TokenizerException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSONL training file: one JSON object per line, each either {@code {"text": …}},
 * {@code {"prompt": …, "completion": …}} or {@code {"messages": [{"role": …, "content": …}, …]}} (formats may mix).
 * Blank lines are skipped. The first bad line stops the read with its line number and the reason.
 */
public final class JsonlDataset {

    /**
     * @param examples  tokenized, truncated examples that have at least one loss target
     * @param truncated how many were cut to the maximum length
     * @param dropped   how many were left without any loss target after truncation (e.g. a prompt longer than the
     *                  limit) and therefore skipped
     */
    public record Loaded(List<TokenizedExample> examples, int truncated, int dropped) {
        public long tokens() {
            return examples.stream().mapToLong(TokenizedExample::length).sum();
        }
    }

    private JsonlDataset() {
    }

    public static Loaded read(Path file, Tokenizer tokenizer, int maxSeqLen) {
        return read(file, file.toString(), tokenizer, maxSeqLen);
    }

    /** @param label how refusals name the file (e.g. the id a user uploaded it as), never seen otherwise */
    public static Loaded read(Path file, String label, Tokenizer tokenizer, int maxSeqLen) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return read(in, label, tokenizer, maxSeqLen, Integer.MAX_VALUE);
        } catch (IOException e) {
            throw new DatasetException(label + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Reads at most {@code maxRecords} records, each exactly as a training run reads it: a check of a file's head
     * before a run finds what the run would refuse there, with the same message.
     */
    public static Loaded read(BufferedReader in, String label, Tokenizer tokenizer, int maxSeqLen, int maxRecords)
            throws IOException {
        if (maxSeqLen < 2) {
            throw new IllegalArgumentException("max_seq_len: must be >= 2, got " + maxSeqLen);
        }
        RecordEncoder encoder = new RecordEncoder(tokenizer);
        List<TokenizedExample> examples = new ArrayList<>();
        int truncated = 0;
        int dropped = 0;
        String line;
        int lineNo = 0;
        int records = 0;
        boolean whole = true;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            if (records == maxRecords) {
                whole = false;   // more records follow: whether any is usable is not known from the head
                break;
            }
            records++;
            TokenizedExample example;
            try {
                example = encode(encoder, parseObject(line));
            } catch (IllegalArgumentException | IllegalStateException | ChatTemplateException | TokenizerException e) {
                throw new DatasetException(label + " line " + lineNo + ": " + e.getMessage(), e);
            }
            if (example.length() > maxSeqLen) {
                truncated++;
                example = example.truncate(maxSeqLen);
            }
            if (example.lossTokens() == 0) {
                dropped++;
            } else {
                examples.add(example);
            }
        }
        if (examples.isEmpty() && whole) {
            throw new DatasetException(label + ": no usable example (" + dropped
                    + " had no loss target within max_seq_len " + maxSeqLen + ")");
        }
        return new Loaded(List.copyOf(examples), truncated, dropped);
    }

    private static JsonObject parseObject(String line) {
        JsonElement element;
        try {
            element = JsonParser.parseString(line);
        } catch (JsonParseException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("not valid JSON (" + cause.getMessage() + ")");
        }
        if (!element.isJsonObject()) {
            throw new IllegalArgumentException("expected a JSON object, got " + kind(element));
        }
        return element.getAsJsonObject();
    }

    private static TokenizedExample encode(RecordEncoder encoder, JsonObject o) {
        boolean text = o.has("text");
        boolean pair = o.has("prompt") || o.has("completion");
        boolean chat = o.has("messages");
        if ((text ? 1 : 0) + (pair ? 1 : 0) + (chat ? 1 : 0) != 1) {
            throw new IllegalArgumentException("expected exactly one of \"text\", \"prompt\"+\"completion\" or"
                    + " \"messages\"; found keys " + o.keySet());
        }
        if (text) {
            return encoder.text(nonEmptyString(o, "text"));
        }
        if (pair) {
            return encoder.promptCompletion(string(o, "prompt"), nonEmptyString(o, "completion"));
        }
        return encoder.messages(turns(o));
    }

    private static List<ChatMessage> turns(JsonObject o) {
        JsonElement m = o.get("messages");
        if (!m.isJsonArray()) {
            throw new IllegalArgumentException("\"messages\" must be an array, got " + kind(m));
        }
        JsonArray array = m.getAsJsonArray();
        List<ChatMessage> turns = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonElement e = array.get(i);
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException("messages[" + i + "] must be an object, got " + kind(e));
            }
            JsonObject turn = e.getAsJsonObject();
            String role = stringField(turn, "role", "messages[" + i + "].role");
            String content = stringField(turn, "content", "messages[" + i + "].content");
            turns.add(new ChatMessage(role, content));
        }
        if (turns.stream().noneMatch(t -> t.role().equals(RecordEncoder.ASSISTANT))) {
            throw new IllegalArgumentException("\"messages\" has no assistant turn, so there is nothing to train on");
        }
        return turns;
    }

    private static String string(JsonObject o, String key) {
        return stringField(o, key, "\"" + key + "\"");
    }

    private static String nonEmptyString(JsonObject o, String key) {
        String s = string(o, key);
        if (s.isEmpty()) {
            throw new IllegalArgumentException("\"" + key + "\" is empty");
        }
        return s;
    }

    private static String stringField(JsonObject o, String key, String label) {
        JsonElement e = o.get(key);
        if (e == null) {
            throw new IllegalArgumentException(label + " is missing");
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IllegalArgumentException(label + " must be a string, got " + kind(e));
        }
        return e.getAsString();
    }

    private static String kind(JsonElement e) {
        if (e.isJsonNull()) {
            return "null";
        }
        if (e.isJsonArray()) {
            return "an array";
        }
        if (e.isJsonObject()) {
            return "an object";
        }
        return e.getAsJsonPrimitive().isString() ? "a string" : e.getAsJsonPrimitive().isNumber() ? "a number" : "a boolean";
    }
}
