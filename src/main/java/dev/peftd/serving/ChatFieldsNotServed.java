package dev.peftd.serving;

import java.util.List;
import java.util.Map;

/**
 * OpenAI chat fields that would change the answer and that peftd cannot honour: a client sending them expects tool
 * calls, JSON, audio or a biased sample, and would otherwise get plain text as if nothing had been asked. Each is
 * refused naming the field; a value that asks for nothing beyond plain text ({@code response_format: {"type":
 * "text"}}, {@code tool_choice: "none"}, {@code modalities: ["text"]}, an empty {@code logit_bias}, an empty
 * {@code tools} list) is the default and is accepted. Fields that do not change the answer ({@code user},
 * {@code store}, {@code metadata}, {@code service_tier}, {@code parallel_tool_calls}, …) pass.
 */
final class ChatFieldsNotServed {

    private static final String TOOLS = "peftd's models answer in plain text and have no tool-calling format, so no"
            + " tool call would ever come back; describe the tools in the messages and parse the answer instead";

    private ChatFieldsNotServed() {
    }

    static void refuse(Map<String, Object> fields) {
        if (fields == null) {
            return;
        }
        for (Map.Entry<String, Object> field : fields.entrySet()) {
            Object value = field.getValue();
            if (value == null) {
                continue;
            }
            String reason = reason(field.getKey(), value);
            if (reason != null) {
                throw new InvalidRequestException(field.getKey(), reason);
            }
        }
    }

    /** Why the field cannot be served with this value, or null when it asks for nothing peftd does not do. */
    private static String reason(String name, Object value) {
        return switch (name) {
            case "tools" -> value instanceof List<?> list && list.isEmpty() ? null : "tools are not supported by peftd; "
                    + TOOLS;
            case "functions" -> value instanceof List<?> list && list.isEmpty() ? null
                    : "functions are not supported by peftd; " + TOOLS;
            case "tool_choice", "function_call" -> "none".equals(value) ? null
                    : "only \"none\": tools are not supported by peftd; " + TOOLS;
            case "response_format" -> responseFormat(value);
            case "logit_bias" -> value instanceof Map<?, ?> map && map.isEmpty() ? null
                    : "is not supported by peftd (sampling has no per-token bias)";
            case "modalities" -> List.of("text").equals(value) ? null
                    : "only [\"text\"]: peftd's models answer in text";
            case "audio" -> "is not supported by peftd: its models answer in text";
            case "reasoning_effort", "verbosity" -> "is a setting of OpenAI's reasoning models, which peftd does not"
                    + " serve; leave it out";
            case "web_search_options" -> "is not supported by peftd: it has no web search";
            default -> null;
        };
    }

    private static String responseFormat(Object value) {
        Object type = value instanceof Map<?, ?> map ? map.get("type") : null;
        if ("text".equals(type)) {
            return null;
        }
        if ("json_object".equals(type) || "json_schema".equals(type)) {
            return "'" + type + "' is not supported by peftd (it has no constrained decoding, so the answer would not"
                    + " be guaranteed JSON); only {\"type\": \"text\"}, the default";
        }
        return "must be {\"type\": \"text\"} (the only format peftd serves)";
    }
}
