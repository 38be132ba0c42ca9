package dev.peftd.core.train.data;

import dev.peftd.core.tokenizer.ChatMessage;
import dev.peftd.core.tokenizer.ChatTemplate;
import dev.peftd.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one parsed JSONL record into token ids and loss targets, following TRL's SFT conventions: plain text is
 * trained on every token; {@code prompt/completion} only on the completion (plus EOS); {@code messages} only on the
 * assistant turns as the chat template renders them.
 */
final class RecordEncoder {

    static final String ASSISTANT = "assistant";

    private final Tokenizer tokenizer;

    RecordEncoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    TokenizedExample text(String text) {
        Builder b = new Builder();
        b.add(encode(text, true), true);
        appendEos(b);
        return b.build();
    }

    TokenizedExample promptCompletion(String prompt, String completion) {
        Builder b = new Builder();
        // Encoded separately so the boundary between untrained and trained tokens is exact.
        b.add(encode(prompt, true), false);
        b.add(encode(completion, false), true);
        appendEos(b);
        return b.build();
    }

    /**
     * Locates each assistant turn by rendering the conversation incrementally: the text between
     * {@code render(turns[..i], generationPrompt=true)} and {@code render(turns[..i+1])} is turn i's answer
     * (with its end-of-turn marker), which is what the model must learn to produce.
     */
    TokenizedExample messages(List<ChatMessage> turns) {
        ChatTemplate template = tokenizer.chatTemplate().orElseThrow(() -> new IllegalArgumentException(
                "\"messages\" needs a chat template, and the model's tokenizer_config.json has none"));
        String full = template.render(turns, false);
        Builder b = new Builder();
        int pos = 0;
        for (int i = 0; i < turns.size(); i++) {
            if (!turns.get(i).role().equals(ASSISTANT)) {
                continue;
            }
            String prompt = template.render(turns.subList(0, i), true);
            String answered = template.render(turns.subList(0, i + 1), false);
            if (!answered.startsWith(prompt) || !full.startsWith(answered) || prompt.length() < pos) {
                throw new IllegalArgumentException("the chat template does not render this conversation incrementally"
                        + " (turn " + i + "), so its assistant turns cannot be located");
            }
            addSegment(b, full.substring(pos, prompt.length()), false);
            addSegment(b, full.substring(prompt.length(), answered.length()), true);
            pos = answered.length();
        }
        addSegment(b, full.substring(pos), false);
        return b.build();
    }

    private void addSegment(Builder b, String text, boolean trained) {
        if (!text.isEmpty()) {
            b.add(encode(text, false), trained); // the template already wrote BOS and turn markers
        }
    }

    private int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens);
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    private void appendEos(Builder b) {
        tokenizer.eosTokenId().ifPresent(eos -> {
            if (b.lastId() != eos) {
                b.add(new int[] {Math.toIntExact(eos)}, true);
            }
        });
    }

    private static final class Builder {
        private final List<int[]> parts = new ArrayList<>();
        private final List<Boolean> trained = new ArrayList<>();

        void add(int[] ids, boolean isTrained) {
            parts.add(ids);
            trained.add(isTrained);
        }

        long lastId() {
            for (int i = parts.size() - 1; i >= 0; i--) {
                if (parts.get(i).length > 0) {
                    return parts.get(i)[parts.get(i).length - 1];
                }
            }
            return -1;
        }

        TokenizedExample build() {
            int n = parts.stream().mapToInt(p -> p.length).sum();
            int[] ids = new int[n];
            boolean[] mask = new boolean[n];
            int at = 0;
            for (int i = 0; i < parts.size(); i++) {
                int[] p = parts.get(i);
                System.arraycopy(p, 0, ids, at, p.length);
                java.util.Arrays.fill(mask, at, at + p.length, trained.get(i));
                at += p.length;
            }
            return new TokenizedExample(ids, mask);
        }
    }
}
