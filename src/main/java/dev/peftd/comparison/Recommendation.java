package dev.peftd.comparison;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The report's advice, by a rule it states: the best method is the one with the lowest mean eval loss; every method
 * whose mean lies within the seed spread of the best (mean − best ≤ the larger of the two methods' standard
 * deviations over seeds) is as good as the best on this evidence, and of those the one with the fewest trainable
 * parameters is recommended (ties: the lower loss). With one seed there is no spread, so only the best qualifies.
 *
 * @param method      the recommended method
 * @param best        the method with the lowest mean eval loss
 * @param equivalents the methods within the seed spread of the best, the best included
 */
public record Recommendation(String method, String best, List<String> equivalents) {

    public static final String RULE = "Recommended: the method with the fewest trainable parameters among those whose "
            + "mean eval loss is within the seed spread of the best (mean minus the best mean at most the larger of "
            + "the two methods' standard deviations over seeds; with one seed only the best qualifies).";

    public static Recommendation of(List<MethodSummary> summaries) {
        MethodSummary best = summaries.stream().min(Comparator.comparingDouble(MethodSummary::evalLossMean))
                .orElseThrow(() -> new IllegalArgumentException("no methods to recommend from"));
        List<MethodSummary> within = summaries.stream().filter(s -> withinSpread(s, best)).toList();
        MethodSummary pick = within.stream().min(Comparator.comparingLong(MethodSummary::trainableParams)
                .thenComparingDouble(MethodSummary::evalLossMean)).orElse(best);
        return new Recommendation(pick.method(), best.method(), within.stream().map(MethodSummary::method).toList());
    }

    private static boolean withinSpread(MethodSummary s, MethodSummary best) {
        return s.evalLossMean() - best.evalLossMean() <= Math.max(s.evalLossStd(), best.evalLossStd());
    }

    /** The advice in one plain sentence, with the numbers it rests on. */
    public String sentence(List<MethodSummary> summaries) {
        MethodSummary pick = find(summaries, method);
        MethodSummary top = find(summaries, best);
        if (pick == top) {
            return String.format(Locale.ROOT, "Use %s: it reached the lowest eval loss (%.4f)%s.", method,
                    top.evalLossMean(), equivalents.size() == 1 ? ", and no smaller method came within the seed spread"
                            : " and is also the smallest of the methods within the seed spread");
        }
        return String.format(Locale.ROOT, "Use %s: its eval loss (%.4f) is within the seed spread of the best, %s "
                        + "(%.4f), with %,d trainable parameters instead of %,d.", method, pick.evalLossMean(), best,
                top.evalLossMean(), pick.trainableParams(), top.trainableParams());
    }

    private static MethodSummary find(List<MethodSummary> summaries, String method) {
        return summaries.stream().filter(s -> s.method().equals(method)).findFirst().orElseThrow();
    }
}
