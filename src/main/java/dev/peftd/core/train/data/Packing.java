package dev.peftd.core.train.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Packs examples back to back into sequences of exactly {@code maxSeqLen} tokens (the last may be shorter), like
 * transformers' {@code group_texts}: no padding is wasted, and each token keeps its own loss target flag. There is no
 * per-document attention mask, so a token may attend to the end of the previous example, as in HF's plain packing.
 */
public final class Packing {

    private Packing() {
    }

    public static List<TokenizedExample> pack(List<TokenizedExample> examples, int maxSeqLen) {
        int total = examples.stream().mapToInt(TokenizedExample::length).sum();
        int[] ids = new int[total];
        boolean[] trained = new boolean[total];
        int at = 0;
        for (TokenizedExample e : examples) {
            System.arraycopy(e.ids(), 0, ids, at, e.length());
            System.arraycopy(e.trained(), 0, trained, at, e.length());
            at += e.length();
        }
        List<TokenizedExample> packed = new ArrayList<>();
        for (int start = 0; start < total; start += maxSeqLen) {
            int end = Math.min(total, start + maxSeqLen);
            TokenizedExample chunk = new TokenizedExample(Arrays.copyOfRange(ids, start, end),
                    Arrays.copyOfRange(trained, start, end));
            if (chunk.lossTokens() > 0) {
                packed.add(chunk);
            }
        }
        return packed;
    }
}
