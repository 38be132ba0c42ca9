package dev.peftd.cli;

import com.google.gson.Gson;
import com.google.gson.JsonParser;
import dev.peftd.bench.ProcessStats;
import dev.peftd.comparison.ComparisonReport;
import dev.peftd.comparison.LocalComparison;
import dev.peftd.comparison.MethodRun;
import dev.peftd.comparison.ReportFiles;
import dev.peftd.comparison.ReportTable;
import dev.peftd.core.train.Evaluation;
import dev.peftd.core.train.StepReport;
import dev.peftd.core.train.TrainingListener;
import dev.peftd.core.train.data.DatasetException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code compare}: trains several methods on the same data, budget and seeds, exports one PEFT adapter per method
 * and seed, and writes {@code report.json}, {@code report.html} and its pictures to {@code --out}.
 */
final class CompareCommand implements Command {

    static final String HELP = """
            usage: compare --model DIR|hf://org/name[@rev] --data TRAIN.jsonl --eval-file EVAL.jsonl --out DIR
                           [--methods lora,lora_fa,vera,delta_lora,lora_plus] [--steps N | --epochs E]
                           [--batch-size B] [--max-seq-len L] [--seeds K] [--seed S] [--eval-every N] [--json]
                           [train's method settings, shared] [--<method>.<setting> X, per method]
              Trains each method (default: all five) on the same batches in the same order, K times with seeds
              S, S+1, ... (default 1 seed, S = 42), scores each on every token of --eval-file, exports each adapter
              to DIR/adapters/<method>/seed-<seed>, and writes DIR/report.json, DIR/report.html (self-contained)
              and DIR/pictures/*.png. Prints the table and the recommendation.
              Settings are train's (see 'help train'): without a prefix one applies to every compared method it
              fits (--lora-alpha skips VeRA); with a method's id and a dot it is that method's own and wins, e.g.
                --r 8 --lora-alpha 16 --target-modules all-linear --lr 3e-3 --schedule constant --max-grad-norm 0
                --vera.r 64 --vera.lr 1e-2 --lora_plus.lr 1e-3 --delta_lora.delta-lambda 2
              The budget (steps or epochs, batch size, accumulation, sequence length) is shared by every method.
              --eval-every N  also evaluate every N steps for the loss curves (default: a tenth of --steps)
              --json          one JSON line per step and evaluation (with its method and seed), then report.json""";

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CompareOptions o = CompareOptions.parse(args);
        requireFile("--data", o.data());
        requireFile("--eval-file", o.evalFile());
        Path modelDir = ModelArgument.directory(o.model());
        LocalComparison comparison = new LocalComparison(modelDir, modelDir.toString(), o.data(), o.evalFile(),
                new LocalComparison.MemoryGauge() {
                    @Override
                    public void resetPeak() {
                        ProcessStats.resetPeakRss();
                    }

                    @Override
                    public double peakMb() {
                        return ProcessStats.peakRssMb();
                    }
                });
        try {
            List<MethodRun> runs = comparison.run(o.runs(), o.out(), new LocalComparison.Progress() {
                @Override
                public TrainingListener starting(String method, long seed, int index, int count) {
                    if (!o.json()) {
                        out.printf(Locale.ROOT, "== %s, seed %d (run %d of %d)%n", method, seed, index + 1, count);
                    }
                    return progress(o.json(), method, seed, out);
                }

                @Override
                public void finished(List<MethodRun> soFar) throws IOException {
                    ReportFiles.write(report(o, soFar), o.out());
                }
            });
            ComparisonReport report = report(o, runs);
            if (o.json()) {
                out.println(JsonParser.parseString(Files.readString(o.out().resolve(ReportFiles.JSON))));
            } else {
                out.print(ReportTable.markdown(report));
                out.println("report: " + o.out().resolve(ReportFiles.HTML));
            }
            return 0;
        } catch (DatasetException | IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        } catch (IOException | UncheckedIOException e) {
            throw new UsageException("--out " + o.out() + ": cannot write the comparison (" + e.getMessage() + ")", e);
        }
    }

    private static final Gson GSON = new Gson();

    private static ComparisonReport report(CompareOptions o, List<MethodRun> runs) {
        return new ComparisonReport(o.model(), o.data().toString(), o.evalFile().toString(), o.budget(), runs);
    }

    /** With --json every line says which run it belongs to; otherwise train's progress display as it is. */
    private static TrainingListener progress(boolean json, String method, long seed, PrintStream out) {
        if (!json) {
            return new TrainProgress(out, TrainProgress.styleFor(false));
        }
        return new TrainingListener() {
            @Override
            public void onStep(StepReport r) {
                if (r.validation() != null) {
                    out.println(GSON.toJson(Map.of("event", "eval", "method", method, "seed", seed, "step", r.step(),
                            "eval_loss", r.validation().loss())));
                }
                out.println(GSON.toJson(Map.of("event", "step", "method", method, "seed", seed, "step", r.step(),
                        "total_steps", r.totalSteps(), "loss", r.loss(), "step_ms", r.stepMillis())));
            }

            @Override
            public void onEval(int step, Evaluation full) {
                out.println(GSON.toJson(Map.of("event", "eval", "method", method, "seed", seed, "step", step,
                        "eval_loss", full.loss())));
            }
        };
    }

    private static void requireFile(String option, Path p) throws UsageException {
        if (!Files.isRegularFile(p)) {
            throw new UsageException(option + " " + p + ": no such file");
        }
    }
}
