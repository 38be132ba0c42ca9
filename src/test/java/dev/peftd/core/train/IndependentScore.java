package dev.peftd.core.train;

import dev.peftd.core.generate.SequenceScore;
import dev.peftd.core.generate.SequenceScorer;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.train.data.TokenizedExample;
import java.util.List;

/**
 * Loss and argmax token accuracy of examples recomputed apart from the training code: one plain forward per example
 * through {@link SequenceScorer} (the CLI's {@code score} path), the log-softmax and argmax in double in Java, over the
 * positions the example trains ({@code trained[t]}, predicted from position t-1).
 */
public record IndependentScore(double nll, long correct, long tokens) {

    public double loss() {
        return nll / tokens;
    }

    public double accuracy() {
        return (double) correct / tokens;
    }

    public static IndependentScore of(CausalLm model, LinearHook hook, List<TokenizedExample> examples) {
        SequenceScorer scorer = new SequenceScorer(model);
        double nll = 0;
        long correct = 0;
        long tokens = 0;
        for (TokenizedExample example : examples) {
            long[] ids = java.util.Arrays.stream(example.ids()).asLongStream().toArray();
            SequenceScore score = scorer.score(ids, hook, true);
            for (int t = 1; t < ids.length; t++) {
                if (!example.trained()[t]) {
                    continue;
                }
                float[] logits = score.logits()[t - 1];                 // [vocab] predicting token t
                double max = Double.NEGATIVE_INFINITY;
                int argmax = 0;
                for (int v = 0; v < logits.length; v++) {
                    if (logits[v] > max) {
                        max = logits[v];
                        argmax = v;
                    }
                }
                double sum = 0;
                for (float l : logits) {
                    sum += Math.exp(l - max);
                }
                nll += max + Math.log(sum) - logits[(int) ids[t]];
                correct += argmax == ids[t] ? 1 : 0;
                tokens++;
            }
        }
        return new IndependentScore(nll, correct, tokens);
    }
}
