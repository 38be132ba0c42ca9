package dev.peftd.core.tokenizer;

import java.util.Map;

/** One turn of a conversation as chat templates see it ({@code message['role']}, {@code message['content']}). */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("chat message: role is required");
        }
        if (content == null) {
            throw new IllegalArgumentException("chat message (" + role + "): content is required");
        }
    }

    Map<String, Object> asTemplateValue() {
        return Map.of("role", role, "content", content);
    }
}
