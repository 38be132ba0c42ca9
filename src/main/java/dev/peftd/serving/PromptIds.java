package dev.peftd.serving;

import dev.peftd.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code prompt} of a completion request, in OpenAI's four shapes: a string, an array of strings, an array of
 * token ids, or an array of token-id arrays (one choice per prompt). An empty array, a mix of shapes, or more prompts
 * than the server takes in one request is a 400 before any model is opened. A string is tokenized with the model's
 * special tokens (BOS for Llama, as vLLM and transformers do); ids are checked against the vocabulary.
 */
final class PromptIds {

    private static final String SHAPES = "must be a string, an array of strings, an array of token ids or an array"
            + " of token-id arrays";

    /**
     * One prompt of the request before tokenization.
     *
     * @param text  the prompt as text, {@code null} when given as ids
     * @param ids   the prompt as token ids, {@code null} when given as text
     * @param field how errors name it: {@code prompt}, or {@code prompt[i]} in a list of several
     */
    record Input(String text, long[] ids, String field) {

        /** The ids on this model: a string tokenized, ids checked against its vocabulary; never empty. */
        long[] tokenize(Tokenizer tokenizer, int vocabSize) {
            long[] out = text != null ? tokenizer.encode(text) : ids;
            if (out.length == 0) {
                throw new InvalidRequestException(field, "is empty (it encodes to no tokens)");
            }
            for (int i = 0; i < out.length; i++) {
                if (out[i] < 0 || out[i] >= vocabSize) {
                    throw new InvalidRequestException(field, "token id " + out[i] + " at position " + i
                            + " is outside the vocabulary [0, " + vocabSize + ")");
                }
            }
            return out;
        }
    }

    private PromptIds() {
    }

    /** The request's prompts in order, their shape checked (no model needed); at most {@code maxPrompts}. */
    static List<Input> parse(Object prompt, int maxPrompts) {
        if (prompt == null) {
            throw new InvalidRequestException("prompt", "is required");
        }
        if (prompt instanceof String text) {
            return List.of(new Input(text, null, "prompt"));
        }
        if (!(prompt instanceof List<?> list)) {
            throw new InvalidRequestException("prompt", SHAPES);
        }
        if (list.isEmpty()) {
            throw new InvalidRequestException("prompt", "is an empty array: give at least one prompt");
        }
        if (list.stream().allMatch(o -> o instanceof Number)) {
            return List.of(new Input(null, ids(list, "prompt"), "prompt"));
        }
        if (list.size() > maxPrompts) {
            throw new InvalidRequestException("prompt", "holds " + list.size() + " prompts; this server takes at most "
                    + maxPrompts + " in one request");
        }
        boolean texts = list.stream().allMatch(o -> o instanceof String);
        boolean idLists = list.stream().allMatch(o -> o instanceof List<?>);
        if (!texts && !idLists) {
            throw new InvalidRequestException("prompt", SHAPES + ", not a mix of them");
        }
        List<Input> inputs = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            String field = list.size() == 1 ? "prompt" : "prompt[" + i + "]";
            if (texts) {
                inputs.add(new Input((String) list.get(i), null, field));
            } else {
                List<?> ids = (List<?>) list.get(i);
                if (ids.isEmpty() || !ids.stream().allMatch(o -> o instanceof Number)) {
                    throw new InvalidRequestException(field, ids.isEmpty() ? "is an empty array of token ids"
                            : "must be an array of token ids (integers)");
                }
                inputs.add(new Input(null, ids(ids, field), field));
            }
        }
        return List.copyOf(inputs);
    }

    private static long[] ids(List<?> numbers, String field) {
        long[] ids = new long[numbers.size()];
        for (int i = 0; i < ids.length; i++) {
            Number n = (Number) numbers.get(i);
            if (n instanceof Double || n instanceof Float) {
                throw new InvalidRequestException(field, "token ids must be integers, got " + n);
            }
            ids[i] = n.longValue();
        }
        return ids;
    }
}
