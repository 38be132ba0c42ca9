package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code train} end to end on the tiny-llama fixture, and its usage errors. */
class TrainCommandTest {

    @TempDir
    Path dir;

    private record Outcome(int code, String out, String err) {
        List<JsonObject> jsonLines() {
            List<JsonObject> lines = new ArrayList<>();
            for (String line : out.split("\n")) {
                if (line.startsWith("{")) {
                    lines.add(JsonParser.parseString(line).getAsJsonObject());
                }
            }
            return lines;
        }
    }

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path data() throws IOException {
        List<String> lines = new ArrayList<>();
        String[] words = {"speak", "hear", "citizen", "resolved", "famish", "enemy", "people", "proceed"};
        for (int i = 0; i < 16; i++) {
            lines.add("{\"text\": \"" + words[i % 8] + " the " + words[(i * 3) % 8] + " and " + words[(i * 5 + 1) % 8] + "\"}");
        }
        lines.add("{\"prompt\": \"Who speaks?\", \"completion\": \" The citizen.\"}");
        Path f = dir.resolve("train.jsonl");
        Files.write(f, lines);
        return f;
    }

    private String[] args(String method, Path out, String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--model", TestModels.tinyLlama().toString(), "--data",
                data().toString(), "--method", method, "--out", out.toString(), "--steps", "4", "--batch-size", "2",
                "--max-seq-len", "32", "--r", "4", "--alpha", "8", "--lr", "1e-2", "--eval-fraction", "0.2", "--json"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void trainsExportsAndResumes() throws IOException {
        Path out = dir.resolve("adapter");
        Outcome first = run(args("lora", out, "--checkpoint-every", "2", "--warmup-steps", "1", "--schedule", "cosine"));
        assertThat(first.code()).as(first.err()).isZero();
        List<JsonObject> lines = first.jsonLines();
        assertThat(lines.stream().filter(l -> l.get("event").getAsString().equals("step"))).hasSize(4);
        JsonObject done = lines.get(lines.size() - 1);
        assertThat(done.get("adapter_dir").getAsString()).isEqualTo(out.toAbsolutePath().toString());
        assertThat(done.get("steps").getAsInt()).isEqualTo(4);
        assertThat(done.get("trainable_params").getAsLong()).isPositive();
        assertThat(done.get("final_loss").getAsDouble()).isFinite();
        assertThat(done.get("eval_loss_after").getAsDouble()).isLessThan(done.get("eval_loss_before").getAsDouble());
        assertThat(out.resolve("adapter_config.json")).isRegularFile();
        assertThat(out.resolve("adapter_model.safetensors")).isRegularFile();
        assertThat(out.resolve("peftd.json")).isRegularFile();
        assertThat(out.resolve("checkpoints/step-000002/checkpoint.json")).isRegularFile();

        Outcome resumed = run(args("lora", dir.resolve("resumed"), "--checkpoint-every", "2", "--warmup-steps", "1",
                "--schedule", "cosine", "--resume", out.resolve("checkpoints").toString()));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        List<JsonObject> again = resumed.jsonLines();
        JsonObject doneAgain = again.get(again.size() - 1);
        assertThat(doneAgain.get("final_loss").getAsDouble()).isEqualTo(done.get("final_loss").getAsDouble());
        assertThat(Files.readAllBytes(dir.resolve("resumed/adapter_model.safetensors")))
                .isEqualTo(Files.readAllBytes(out.resolve("adapter_model.safetensors")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "vera", "delta_lora"})
    void trainsOnABfloat16Base(String method) throws IOException {
        Path out = dir.resolve("bf16-" + method);
        List<String> a = new ArrayList<>(Arrays.asList(args(method, out, "--dtype", "bfloat16")));
        if (method.equals("vera")) { // VeRA has no scaling
            a.subList(a.indexOf("--alpha"), a.indexOf("--alpha") + 2).clear();
        }
        Outcome o = run(a.toArray(String[]::new));
        assertThat(o.code()).as(o.err()).isZero();
        JsonObject done = o.jsonLines().get(o.jsonLines().size() - 1);
        assertThat(done.get("final_loss").getAsDouble()).isFinite();
        assertThat(done.get("eval_loss_after").getAsDouble()).isLessThan(done.get("eval_loss_before").getAsDouble());
        assertThat(out.resolve("adapter_model.safetensors")).isRegularFile();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "lora_fa|--lora-fa-project-grad",
        "vera|--vera-d-initial=0.2",
        "delta_lora|--delta-start-step=1",
        "lora_plus|--loraplus-lr-ratio=8",
    })
    void everyMethodTrainsFromTheCommandLine(String method, String option) throws IOException {
        String[] a = args(method, dir.resolve(method), option);
        if (method.equals("vera")) {
            a = Arrays.stream(a).filter(s -> !s.equals("--alpha") && !s.equals("8")).toArray(String[]::new);
        }
        Outcome o = run(a);
        assertThat(o.code()).as(o.err()).isZero();
        JsonObject done = o.jsonLines().get(o.jsonLines().size() - 1);
        assertThat(done.get("method").getAsString()).isEqualTo(method);
        assertThat(done.get("steps").getAsInt()).isEqualTo(4);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--method lora|--model is required",
        "--model M --data D --out O --method nope|method",
        "--model M --data D --out O --method lora --bogus 1|unknown option --bogus",
        "--model M --data D --out O --method lora --vera-d-initial 0.1|--vera-d-initial: only applies to method 'vera'",
        "--model M --data D --out O --method vera --alpha 8|--alpha: does not apply to method 'vera'",
        "--model M --data D --out O --method lora --alpha 8 --lora-alpha 8|--alpha and --lora-alpha are the same option",
        "--model M --data D --out O --method lora --lora-alpha 0|--lora-alpha: must be between",
        "--model M --data D --out O --method lora --steps 3 --epochs 1|either --steps or --epochs",
        "--model M --data D --out O --method lora --lr abc|--lr: 'abc' is not a finite number",
        "--model M --data D --out O --method lora --lr -1|lr",
        "--model M --data D --out O --method lora --r 0|r",
        "--model M --data D --out O --method delta_lora --dropout 0.1|--dropout: must be 0",
        "--model M --data D --out O --method lora --schedule wavy|schedule",
        "--model /nonexistent --data D --out O --method lora|--model /nonexistent: directory does not exist",
    })
    void badOptionsExitTwoWithOneLine(String argLine, String expected) {
        List<String> a = new ArrayList<>(List.of("train"));
        a.addAll(Arrays.asList(argLine.split(" ")));
        Outcome o = run(a.toArray(String[]::new));
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.err().strip()).doesNotContain("\n").startsWith("peftd train: ").contains(expected);
    }

    @Test
    void badDataLineExitsTwoNamingTheLine() throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        Files.write(bad, List.of("{\"text\": \"fine\"}", "{\"text\": 5}"));
        Outcome o = run("train", "--model", TestModels.tinyLlama().toString(), "--data", bad.toString(), "--method",
                "lora", "--out", dir.resolve("x").toString());
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.err()).contains("line 2").contains("\"text\" must be a string");
    }
}
