package dev.peftd.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.peftd.bench.ProcessStats;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.peft.AdapterExport;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.TrainingData;
import dev.peftd.core.train.TrainingResult;
import dev.peftd.core.train.TrainingRun;
import dev.peftd.core.train.data.DataOrder;
import dev.peftd.core.train.data.DatasetException;
import dev.peftd.core.train.data.JsonlDataset;
import dev.peftd.core.train.data.Packing;
import dev.peftd.core.train.data.TokenizedExample;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code train}: fine-tunes an adapter of one of the five methods on a JSONL file, prints progress, writes the PEFT
 * directory to {@code --out} and shows what the adapter changed. Checkpoints go to {@code --out/checkpoints}.
 */
final class TrainCommand implements Command {

    static final String HELP = """
            usage: train --model DIR|hf://org/name[@rev] --data FILE.jsonl --method lora|lora_fa|vera|delta_lora|lora_plus
                         --out DIR [options]
              Fine-tunes an adapter on JSONL records ({"text"}, {"prompt","completion"} or {"messages"}), prints the
              progress, writes the PEFT adapter directory and peftd.json to --out (checkpoints to --out/checkpoints)
              and shows what the adapter changed. The method settings are the API's hyperparameters with dashes
              (--lora-alpha is lora_alpha), with the same defaults and ranges (README, Fine-tuning API by example);
              the short forms in parentheses are aliases.
              adapter:   --r N  --lora-alpha A (--alpha)  --target-modules q_proj,v_proj|all-linear
                         --lora-dropout P (--dropout)  --use-rslora
              methods:   --lora-fa-project-grad (lora_fa)  --vera-d-initial D  --projection-prng-key K (--vera-seed) (vera)
                         --delta-lambda L  --delta-start-step K (delta_lora)  --loraplus-lr-ratio R (lora_plus)
              training:  --learning-rate X (--lr) | --learning-rate-multiplier M  --max-steps N (--steps)
                         | --n-epochs E (--epochs)  --batch-size B  --gradient-accumulation-steps N (--grad-accum)
                         --max-seq-length T (--max-seq-len)  --packing  --warmup-steps N
                         --lr-scheduler cosine|linear|constant (--schedule)  --weight-decay W  --max-grad-norm G
                         --seed S
              evaluation and checkpoints:  --eval-file FILE.jsonl | --eval-fraction F  --eval-every N
                         --eval-samples N  --early-stopping-patience P  --keep-best
                         --checkpoint-every N  --resume DIR
              base:      --dtype auto (default: the checkpoint's where this device computes it, else float32)
                         |float32|bfloat16|float16: the frozen base's type (every method; adapter, optimizer
                         and loss stay float32)
              output:    --json (one JSON object per step, evaluation and checkpoint, then a summary)""";

    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().create();

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        TrainOptions o = TrainOptions.parse(args);
        Path modelDir = ModelArgument.directory(o.model());
        requireFile("--data", o.data());
        if (o.evalFile() != null) {
            requireFile("--eval-file", o.evalFile());
        }
        try (Tokenizer tokenizer = ModelArgument.tokenizer(modelDir, true); CausalLm model = ModelArgument.load(modelDir, o.dtype())) {
            int maxSeqLen = Math.min(o.maxSeqLen(), model.config().maxPositionEmbeddings());
            TrainingData data = data(o, tokenizer, maxSeqLen, out);
            AdapterConfig config = o.adapter();
            int totalSteps = o.training().totalStepsFor(data.train().size());
            config = config.forRunOf(totalSteps);
            try (AbstractAdapter adapter = Adapters.create(config, model.linears(), o.training().seed())) {
                TrainProgress progress = new TrainProgress(out, TrainProgress.styleFor(o.json()));
                TrainingRun run = new TrainingRun(model, adapter, data, o.training(), progress,
                        o.out().resolve("checkpoints"));
                if (o.resume() != null) {
                    run.resumeFrom(o.resume());
                }
                TrainingResult result = run.run();
                AdapterAnalysis analysis = AdapterExport.write(adapter, modelDir.toString(), modelDir, model.config(), o.out(),
                        metrics(o, result), false);
                report(o, result, analysis, progress.medianStepMillis(), out);
                return result.cancelled() ? 1 : 0;
            }
        } catch (DatasetException | IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        } catch (IOException e) {
            throw new UsageException("--out " + o.out() + ": cannot write the adapter (" + e.getMessage() + ")", e);
        }
    }

    private static TrainingData data(TrainOptions o, Tokenizer tokenizer, int maxSeqLen, PrintStream out) {
        JsonlDataset.Loaded train = JsonlDataset.read(o.data(), tokenizer, maxSeqLen);
        List<TokenizedExample> trainSet = train.examples();
        List<TokenizedExample> evalSet = List.of();
        if (o.evalFile() != null) {
            evalSet = JsonlDataset.read(o.evalFile(), tokenizer, maxSeqLen).examples();
        } else if (o.evalFraction() > 0) {
            List<List<TokenizedExample>> split = DataOrder.split(trainSet, o.evalFraction(), o.training().seed());
            trainSet = split.get(0);
            evalSet = split.get(1);
        }
        if (o.packing()) {
            trainSet = Packing.pack(trainSet, maxSeqLen);
        }
        if (!o.json()) {
            out.printf(Locale.ROOT, "data: %d training sequences (%d truncated to %d tokens, %d without loss target"
                    + " skipped), %d validation%n", trainSet.size(), train.truncated(), maxSeqLen, train.dropped(),
                    evalSet.size());
        }
        int pad = (int) tokenizer.eosTokenId().orElse(0);
        return new TrainingData(trainSet, evalSet, pad);
    }

    private static void report(TrainOptions o, TrainingResult result, AdapterAnalysis analysis, double medianStepMs,
                               PrintStream out) {
        if (o.json()) {
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("event", "done");
            summary.put("adapter_dir", o.out().toAbsolutePath().toString());
            summary.put("method", o.method().id());
            summary.putAll(metrics(o, result));
            summary.put("trainable_params", analysis.trainableParams());
            summary.put("median_step_ms", medianStepMs);
            summary.put("peak_rss_mb", ProcessStats.peakRssMb());
            summary.put("analysis", analysis.toJson());
            out.println(GSON.toJson(summary));
            return;
        }
        out.printf(Locale.ROOT, "trained %d steps: loss %.4f -> %.4f%s%n", result.steps(), result.firstLoss(),
                result.finalLoss(), result.evalAfter() == null ? ""
                        : String.format(Locale.ROOT, ", eval loss %s -> %.4f",
                        result.evalBefore() == null ? "?" : String.format(Locale.ROOT, "%.4f", result.evalBefore()),
                        result.evalAfter()));
        out.printf(Locale.ROOT, "adapter written to %s (median step %.0f ms, peak RSS %.0f MB)%n",
                o.out().toAbsolutePath(), medianStepMs, ProcessStats.peakRssMb());
        out.print(analysis.toTable());
    }

    /** What peftd.json records about the run. */
    private static Map<String, Object> metrics(TrainOptions o, TrainingResult result) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("steps", result.steps());
        m.put("cancelled", result.cancelled());
        m.put("first_loss", result.firstLoss());
        m.put("final_loss", result.finalLoss());
        m.put("eval_loss_before", result.evalBefore());
        m.put("eval_loss_after", result.evalAfter());
        m.put("early_stopped", result.earlyStopped());
        if (result.best() != null) {
            m.put("best_step", result.bestStep());
            m.put("best_valid_loss", result.best().loss());
        }
        m.put("training", o.training().asMap());
        m.put("data", o.data().toString());
        return m;
    }

    private static void requireFile(String option, Path p) throws UsageException {
        if (!Files.isRegularFile(p)) {
            throw new UsageException(option + " " + p + ": no such file");
        }
    }
}
