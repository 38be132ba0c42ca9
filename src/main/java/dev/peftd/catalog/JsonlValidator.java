package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Checks a fine-tuning dataset before it is stored: UTF-8, one JSON object per line, each in one of the formats the
 * training core reads ({@code {"text"}}, {@code {"prompt","completion"}}, {@code {"messages":[{role, content}…]}}).
 * The first bad line is reported with its number and the reason; blank lines are allowed.
 */
final class JsonlValidator {

    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool", "developer");

    private final JsonMapper json;

    JsonlValidator(JsonMapper json) {
        this.json = json;
    }

    /** @return the number of records */
    int validate(InputStream in) throws IOException {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        int lineNumber = 0;
        int records = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, decoder))) {
            String line;
            while (true) {
                try {
                    line = reader.readLine();
                } catch (CharacterCodingException e) {
                    throw bad(lineNumber + 1, "not UTF-8 text");
                }
                if (line == null) {
                    break;
                }
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                check(lineNumber, line);
                records++;
            }
        }
        if (records == 0) {
            throw new Refusal(Refusal.Kind.INVALID_FILE, "the file holds no JSONL records",
                    List.of(new Refusal.FieldError("file", "empty: no JSON lines")));
        }
        return records;
    }

    private void check(int lineNumber, String line) {
        JsonNode record;
        try {
            record = json.readTree(line);
        } catch (JacksonException e) {
            throw bad(lineNumber, "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (record == null || !record.isObject()) {
            throw bad(lineNumber, "expected a JSON object");
        }
        if (record.has("messages")) {
            checkMessages(lineNumber, record.get("messages"));
        } else if (record.has("prompt") || record.has("completion")) {
            requireText(lineNumber, record, "prompt");
            requireText(lineNumber, record, "completion");
        } else if (record.has("text")) {
            requireText(lineNumber, record, "text");
        } else {
            throw bad(lineNumber, "expected {\"text\"}, {\"prompt\",\"completion\"} or {\"messages\":[…]}");
        }
    }

    private void checkMessages(int lineNumber, JsonNode messages) {
        if (!messages.isArray() || messages.isEmpty()) {
            throw bad(lineNumber, "\"messages\" must be a non-empty array");
        }
        boolean assistant = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String where = "messages[" + i + "]";
            if (!message.isObject() || !message.path("role").isString() || !message.path("content").isString()) {
                throw bad(lineNumber, where + " needs string fields \"role\" and \"content\"");
            }
            String role = message.get("role").asString();
            if (!ROLES.contains(role)) {
                throw bad(lineNumber, where + ".role '" + role + "' is not one of " + ROLES);
            }
            assistant |= role.equals("assistant");
        }
        if (!assistant) {
            throw bad(lineNumber, "\"messages\" has no assistant turn to learn from");
        }
    }

    private void requireText(int lineNumber, JsonNode record, String field) {
        JsonNode value = record.get(field);
        if (value == null || !value.isString()) {
            throw bad(lineNumber, "\"" + field + "\" must be a string");
        }
        if (field.equals("text") && value.asString().isBlank()) {
            throw bad(lineNumber, "\"text\" is empty");
        }
    }

    private static Refusal bad(int lineNumber, String reason) {
        return new Refusal(Refusal.Kind.INVALID_FILE, "line " + lineNumber + ": " + reason,
                List.of(new Refusal.FieldError("file", "line " + lineNumber + ": " + reason)));
    }
}
