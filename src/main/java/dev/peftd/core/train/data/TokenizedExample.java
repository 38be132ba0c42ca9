package dev.peftd.core.train.data;

/**
 * One training sequence after tokenization.
 *
 * @param ids     token ids, length ≤ the maximum sequence length
 * @param trained {@code trained[i]} is true when token i is a loss target, i.e. the model is trained to predict it
 *                from tokens {@code 0..i-1} (HF's {@code labels[i] != -100}); {@code trained[0]} is ignored since
 *                nothing precedes it
 */
public record TokenizedExample(int[] ids, boolean[] trained) {

    public TokenizedExample {
        if (ids.length != trained.length) {
            throw new IllegalArgumentException("ids and trained differ in length: " + ids.length + " vs " + trained.length);
        }
    }

    /** Tokens the loss is computed on (position 0 never counts). */
    public int lossTokens() {
        int n = 0;
        for (int i = 1; i < ids.length; i++) {
            if (trained[i]) {
                n++;
            }
        }
        return n;
    }

    public int length() {
        return ids.length;
    }

    /** The first {@code maxLength} tokens (kept from the start, as HF truncation does by default). */
    public TokenizedExample truncate(int maxLength) {
        if (ids.length <= maxLength) {
            return this;
        }
        return new TokenizedExample(java.util.Arrays.copyOf(ids, maxLength), java.util.Arrays.copyOf(trained, maxLength));
    }
}
