package dev.peftd.cli;

import com.google.gson.Gson;
import dev.peftd.core.train.Evaluation;
import dev.peftd.core.train.StepReport;
import dev.peftd.core.train.TrainingListener;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Prints training progress: one JSON object per line with {@code --json}; a progress bar redrawn in place on a
 * terminal; otherwise one plain line per step (logs, pipes).
 */
final class TrainProgress implements TrainingListener {

    private static final Gson GSON = new Gson();
    private static final int BAR_WIDTH = 30;

    enum Style { JSON, BAR, LINES }

    private final PrintStream out;
    private final Style style;
    private final java.util.List<Double> stepMillis = new java.util.ArrayList<>();

    TrainProgress(PrintStream out, Style style) {
        this.out = out;
        this.style = style;
    }

    static Style styleFor(boolean json) {
        return json ? Style.JSON : System.console() != null ? Style.BAR : Style.LINES;
    }

    /** Median wall time of the steps after the first (which pays warm-up), or NaN before two steps. */
    double medianStepMillis() {
        return dev.peftd.core.train.StepTimes.medianAfterFirst(stepMillis);
    }

    @Override
    public void onStep(StepReport r) {
        stepMillis.add(r.stepMillis());
        switch (style) {
            case JSON -> {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("event", "step");
                line.put("step", r.step());
                line.put("total_steps", r.totalSteps());
                line.put("epoch", r.epoch());
                line.put("loss", r.loss());
                line.put("token_accuracy", r.tokenAccuracy());
                if (r.validation() != null) {
                    line.put("valid_loss", r.validation().loss());
                    line.put("valid_token_accuracy", r.validation().tokenAccuracy());
                }
                line.put("lr", r.learningRate());
                line.put("grad_norm", r.gradNorm());
                line.put("tokens_per_s", r.tokensPerSecond());
                line.put("step_ms", r.stepMillis());
                out.println(GSON.toJson(line));
            }
            case BAR -> {
                int filled = (int) ((long) BAR_WIDTH * r.step() / r.totalSteps());
                out.printf(Locale.ROOT, "\r[%s%s] %d/%d loss %.4f lr %.2e grad %.3f %.0f tok/s",
                        "#".repeat(filled), " ".repeat(BAR_WIDTH - filled), r.step(), r.totalSteps(), r.loss(),
                        r.learningRate(), r.gradNorm(), r.tokensPerSecond());
                if (r.step() == r.totalSteps()) {
                    out.println();
                }
                out.flush();
            }
            case LINES -> out.printf(Locale.ROOT, "step %d/%d  loss %.4f  lr %.3e  grad_norm %.4f  %.0f tok/s  %.0f ms%s%n",
                    r.step(), r.totalSteps(), r.loss(), r.learningRate(), r.gradNorm(), r.tokensPerSecond(),
                    r.stepMillis(), r.validation() == null ? ""
                            : String.format(Locale.ROOT, "  valid_loss %.4f", r.validation().loss()));
        }
    }

    @Override
    public void onEval(int step, Evaluation full) {
        if (style == Style.JSON) {
            out.println(GSON.toJson(Map.of("event", "eval", "step", step, "eval_loss", full.loss(),
                    "eval_token_accuracy", full.tokenAccuracy())));
        } else {
            out.printf(Locale.ROOT, "%seval after step %d: loss %.4f  token accuracy %.4f%n",
                    style == Style.BAR ? "\n" : "", step, full.loss(), full.tokenAccuracy());
        }
    }

    @Override
    public void onCheckpoint(int step, Path directory) {
        if (style == Style.JSON) {
            out.println(GSON.toJson(Map.of("event", "checkpoint", "step", step, "dir", directory.toString())));
        } else {
            out.printf(Locale.ROOT, "%scheckpoint: %s%n", style == Style.BAR ? "\n" : "", directory);
        }
    }
}
