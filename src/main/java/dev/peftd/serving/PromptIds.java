package dev.peftd.serving;

import dev.peftd.core.tokenizer.Tokenizer;
import java.util.List;

/**
 * The {@code prompt} of a completion request as token ids: a string is tokenized with the model's special tokens
 * (BOS for Llama, as vLLM and transformers do); an array of integers is taken as ids; a one-element array of either
 * is unwrapped. Several prompts in one request are refused (n = 1).
 */
final class PromptIds {

    private PromptIds() {
    }

    static long[] of(Object prompt, Tokenizer tokenizer, int vocabSize) {
        if (prompt == null) {
            throw new InvalidRequestException("prompt", "is required");
        }
        long[] ids;
        if (prompt instanceof String text) {
            ids = tokenizer.encode(text);
        } else if (prompt instanceof List<?> list && !list.isEmpty() && list.stream().allMatch(o -> o instanceof Number)) {
            ids = list.stream().mapToLong(o -> toId((Number) o)).toArray();
        } else if (prompt instanceof List<?> list && list.size() == 1) {
            return of(list.get(0), tokenizer, vocabSize);
        } else if (prompt instanceof List<?> list && list.size() > 1) {
            throw new InvalidRequestException("prompt", "holds " + list.size() + " prompts; send one per request");
        } else {
            throw new InvalidRequestException("prompt", "must be a string or an array of token ids");
        }
        if (ids.length == 0) {
            throw new InvalidRequestException("prompt", "is empty (it encodes to no tokens)");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new InvalidRequestException("prompt", "token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        return ids;
    }

    private static long toId(Number n) {
        if (n instanceof Double || n instanceof Float) {
            throw new InvalidRequestException("prompt", "token ids must be integers, got " + n);
        }
        return n.longValue();
    }
}
