package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.peftd.core.model.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code compare} end to end on the tiny-llama fixture (two methods, two seeds), and its usage errors. */
class CompareCommandTest {

    @TempDir
    Path tmp;

    @Test
    void writesOneRowPerMethodAndSeedWithEveryField() throws IOException {
        ComparedOnce c = ComparedOnce.get();
        assertThat(c.run.exitCode()).as(c.run.err()).isZero();
        JsonObject report = c.report();
        JsonArray rows = report.getAsJsonArray("rows");
        assertThat(rows).hasSize(ComparedOnce.METHODS.size() * ComparedOnce.SEEDS);
        List<String> seen = new ArrayList<>();
        for (JsonElement e : rows) {
            JsonObject row = e.getAsJsonObject();
            String method = row.get("method").getAsString();
            seen.add(method + "/" + row.get("seed").getAsLong());
            Path adapter = c.out().resolve(row.get("adapter_dir").getAsString());
            assertThat(adapter.resolve("adapter_config.json")).isRegularFile();
            assertThat(row.get("adapter_bytes").getAsLong())
                    .isEqualTo(Files.size(adapter.resolve("adapter_model.safetensors")));
            assertThat(row.get("trainable_params").getAsLong()).isPositive();
            double before = row.get("eval_loss_before").getAsDouble();
            double after = row.get("eval_loss").getAsDouble();
            assertThat(after).as(method).isLessThan(before);
            JsonArray curve = row.getAsJsonArray("eval_loss_curve");
            // step 0, every 2 steps before the last, and after the last: 0, 2, 4, 6
            assertThat(curve).hasSize(4);
            assertThat(curve.get(0).getAsJsonObject().get("eval_loss").getAsDouble()).isEqualTo(before);
            assertThat(curve.get(3).getAsJsonObject().get("step").getAsInt()).isEqualTo(6);
            assertThat(curve.get(3).getAsJsonObject().get("eval_loss").getAsDouble()).isEqualTo(after);
            assertThat(row.get("step_seconds").getAsDouble()).isPositive();
            assertThat(row.get("peak_rss_mb").getAsDouble()).isPositive();
            JsonObject analysis = row.getAsJsonObject("analysis");
            assertThat(analysis.get("method").getAsString()).isEqualTo(method);
            assertThat(analysis.getAsJsonArray("modules")).isNotEmpty();
            assertThat(analysis.getAsJsonArray("modules").get(0).getAsJsonObject().get("relative_change").getAsDouble())
                    .isPositive();
        }
        assertThat(seen).containsExactly("lora/42", "vera/42", "lora/43", "vera/43");
        // the per-method override reached VeRA only: r 16 there, the shared r 4 for LoRA
        assertThat(rows.get(0).getAsJsonObject().getAsJsonObject("settings").get("r").getAsInt()).isEqualTo(4);
        assertThat(rows.get(1).getAsJsonObject().getAsJsonObject("settings").get("r").getAsInt()).isEqualTo(16);
        assertThat(rows.get(1).getAsJsonObject().getAsJsonObject("settings").get("learning_rate").getAsDouble())
                .isEqualTo(5e-2);
        assertThat(rows.get(1).getAsJsonObject().getAsJsonObject("settings").has("lora_alpha")).isFalse();
    }

    @Test
    void summarisesEachMethodOverSeedsAndStatesTheRule() throws IOException {
        ComparedOnce c = ComparedOnce.get();
        JsonObject report = c.report();
        JsonArray rows = report.getAsJsonArray("rows");
        JsonArray methods = report.getAsJsonArray("methods");
        assertThat(methods).hasSize(2);
        for (int m = 0; m < 2; m++) {
            JsonObject s = methods.get(m).getAsJsonObject();
            double a = rows.get(m).getAsJsonObject().get("eval_loss").getAsDouble();
            double b = rows.get(m + 2).getAsJsonObject().get("eval_loss").getAsDouble();
            assertThat(s.get("eval_loss_mean").getAsDouble()).isCloseTo((a + b) / 2, org.assertj.core.data.Offset.offset(1e-12));
            assertThat(s.get("eval_loss_std").getAsDouble())
                    .isCloseTo(Math.abs(a - b) / Math.sqrt(2), org.assertj.core.data.Offset.offset(1e-12));
            assertThat(a).as("seeds differ").isNotEqualTo(b);
        }
        JsonObject advice = report.getAsJsonObject("recommendation");
        assertThat(advice.get("rule").getAsString()).contains("fewest trainable parameters", "seed spread");
        assertThat(ComparedOnce.METHODS).contains(advice.get("method").getAsString());
        assertThat(c.run.out()).contains("| lora |", "| vera |", advice.get("text").getAsString());
        assertThat(c.out().resolve("report.html")).isRegularFile();
        assertThat(c.out().resolve("pictures/loss_curves.png")).isRegularFile();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--methods lora,lora                 | --methods: lora is listed twice",
            "--methods lora,qlora                | --methods: 'qlora' is not a method",
            "--methods lora --vera.r 8           | --vera.r: method vera is not among --methods",
            "--methods vera --lora-alpha 16      | --lora-alpha applies to none of the compared methods (vera)",
            "--methods lora,vera --vera.lora-alpha 4 | --vera.lora-alpha: does not apply to method 'vera'",
            "--methods lora --lora.batch-size 2  | --lora.batch-size: the budget is shared by every method",
            "--methods lora --lora.r 0           | --lora.r: must",
            "--methods lora --seeds 0            | --seeds: must lie in [1, 20], got 0",
    })
    void refusesWithTheOptionAtFault(String extra, String message) throws IOException {
        Path data = tmp.resolve("d.jsonl");
        Files.writeString(data, "{\"text\": \"speak the people\"}\n");
        List<String> args = new ArrayList<>(List.of("compare", "--model", TestModels.tinyLlama().toString(), "--data",
                data.toString(), "--eval-file", data.toString(), "--steps", "1", "--out", tmp.resolve("o").toString()));
        args.addAll(List.of(extra.strip().split(" +")));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertThat(run.exitCode()).isEqualTo(Cli.USAGE_ERROR);
        assertThat(run.err()).contains(message);
        assertThat(tmp.resolve("o")).doesNotExist();
    }

    @Test
    void jsonLinesNameTheirRunAndEndWithTheReport() throws IOException {
        ComparedOnce c = ComparedOnce.get();
        CliRun run = CliRun.of("compare", "--model", TestModels.tinyLlama().toString(), "--data", c.train.toString(),
                "--eval-file", c.eval.toString(), "--methods", "lora_fa", "--steps", "2", "--batch-size", "4",
                "--max-seq-len", "32", "--r", "2", "--json", "--out", tmp.resolve("o").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<JsonObject> lines = run.out().lines().map(l -> com.google.gson.JsonParser.parseString(l).getAsJsonObject())
                .toList();
        assertThat(lines.subList(0, lines.size() - 1)).allSatisfy(l -> {
            assertThat(l.get("method").getAsString()).isEqualTo("lora_fa");
            assertThat(l.get("seed").getAsLong()).isEqualTo(42);
        });
        assertThat(lines.stream().filter(l -> l.has("event") && l.get("event").getAsString().equals("step"))).hasSize(2);
        JsonObject last = lines.get(lines.size() - 1);
        assertThat(last.getAsJsonArray("rows")).hasSize(1);
        assertThat(last.getAsJsonObject("recommendation").get("method").getAsString()).isEqualTo("lora_fa");
    }

    @Test
    void needsAnEvalFile() {
        CliRun run = CliRun.of("compare", "--model", TestModels.tinyLlama().toString(), "--data", "x.jsonl",
                "--out", tmp.resolve("o").toString());
        assertThat(run.exitCode()).isEqualTo(Cli.USAGE_ERROR);
        assertThat(run.err()).contains("--eval-file is required");
    }
}
