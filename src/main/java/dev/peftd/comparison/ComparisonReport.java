package dev.peftd.comparison;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a comparison report shows, built from its runs however they were produced: the command line's
 * {@link LocalComparison}, or a service's child jobs. {@link ReportFiles} writes it out.
 *
 * @param model        the base model as the user named it
 * @param trainingFile the training data as the user named it
 * @param evalFile     the evaluation data as the user named it
 * @param budget       the shared budget (steps, batch size, sequence length, seeds), by the API's setting names
 * @param runs         one per method and seed, methods in the order the user listed them
 */
public record ComparisonReport(String model, String trainingFile, String evalFile, Map<String, Object> budget,
                               List<MethodRun> runs) {

    public ComparisonReport {
        budget = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(budget));
        runs = List.copyOf(runs);
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("a comparison report needs at least one run");
        }
    }

    /** One row per method, in the order the runs list them. */
    public List<MethodSummary> summaries() {
        Map<String, List<MethodRun>> byMethod = new LinkedHashMap<>();
        for (MethodRun run : runs) {
            byMethod.computeIfAbsent(run.method(), m -> new ArrayList<>()).add(run);
        }
        List<MethodSummary> rows = new ArrayList<>();
        byMethod.forEach((method, list) -> rows.add(new MethodSummary(method, list)));
        return rows;
    }

    public Recommendation recommendation() {
        return Recommendation.of(summaries());
    }
}
