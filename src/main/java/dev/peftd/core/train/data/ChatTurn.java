package dev.peftd.core.train.data;

/** One {@code {"role", "content"}} entry of a {@code "messages"} record, as read from the JSONL line. */
public record ChatTurn(String role, String content) {

    public boolean isAssistant() {
        return "assistant".equals(role);
    }
}
