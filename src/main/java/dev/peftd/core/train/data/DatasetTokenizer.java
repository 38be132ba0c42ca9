package dev.peftd.core.train.data;

import java.util.List;
import java.util.OptionalInt;

/** What turning JSONL records into token ids needs from a model's tokenizer. */
public interface DatasetTokenizer {

    /** Token ids of {@code text}; with {@code addSpecialTokens} the tokenizer's own BOS/EOS rules apply. */
    int[] encode(String text, boolean addSpecialTokens);

    /** The end-of-sequence id appended after a text or a completion, when the tokenizer has one. */
    OptionalInt eosTokenId();

    /**
     * Renders a conversation with the model's chat template (the text, not ids), like
     * {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)}.
     *
     * @throws IllegalStateException when the model has no chat template
     */
    String renderChat(List<ChatTurn> messages, boolean addGenerationPrompt);
}
