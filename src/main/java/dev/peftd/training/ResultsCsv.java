package dev.peftd.training;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A job's results file: OpenAI's {@code step_metrics.csv} columns, then peftd's, one row per step from the job's
 * metrics events. A step trained twice (a run resumed from an earlier checkpoint) keeps its last report, the one
 * the run continued from; a cell is empty where the step had no such value (validation only every
 * {@code eval_every} steps). Numbers are written as Java prints a double, so they read back to the events' values.
 */
final class ResultsCsv {

    /** The CSV header and, for each column, the metrics event field it reads. */
    static final List<String> COLUMNS = List.of("step", "train_loss", "train_accuracy", "valid_loss",
            "valid_mean_token_accuracy", "lr", "grad_norm", "tokens_per_second");
    private static final List<String> FIELDS = List.of("step", "train_loss", "train_mean_token_accuracy", "valid_loss",
            "valid_mean_token_accuracy", "learning_rate", "grad_norm", "tokens_per_second");

    private final String text;
    private final int rows;

    private ResultsCsv(String text, int rows) {
        this.text = text;
        this.rows = rows;
    }

    /** @param metrics every metrics event's data, oldest first; events without {@code train_loss} are not steps */
    static ResultsCsv of(List<Map<String, Object>> metrics) {
        TreeMap<Long, Map<String, Object>> byStep = new TreeMap<>();
        for (Map<String, Object> event : metrics) {
            if (event.get("train_loss") instanceof Number && event.get("step") instanceof Number step) {
                byStep.put(step.longValue(), event);
            }
        }
        StringBuilder out = new StringBuilder(String.join(",", COLUMNS)).append('\n');
        for (Map<String, Object> event : byStep.values()) {
            for (int i = 0; i < FIELDS.size(); i++) {
                out.append(i == 0 ? "" : ",").append(cell(event.get(FIELDS.get(i))));
            }
            out.append('\n');
        }
        return new ResultsCsv(out.toString(), byStep.size());
    }

    private static String cell(Object value) {
        if (value instanceof Integer || value instanceof Long) {
            return value.toString();
        }
        return value instanceof Number n ? Double.toString(n.doubleValue()) : "";
    }

    String text() {
        return text;
    }

    int rows() {
        return rows;
    }
}
