package dev.peftd.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.TestModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One small {@code compare} run on the tiny-llama fixture (lora and vera, 2 seeds, 6 steps), made once per test JVM
 * and shared by the tests that read its report, so that each does not train its own.
 */
final class ComparedOnce {

    static final List<String> METHODS = List.of("lora", "vera");
    static final int SEEDS = 2;

    private static ComparedOnce instance;

    final Path dir;
    final Path train;
    final Path eval;
    final CliRun run;

    private ComparedOnce(Path dir) throws IOException {
        this.dir = dir;
        train = dir.resolve("train.jsonl");
        eval = dir.resolve("eval.jsonl");
        String[] words = {"speak", "hear", "citizen", "resolved", "famish", "enemy", "people", "proceed"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            lines.add("{\"text\": \"" + words[i % 8] + " the " + words[(i * 3) % 8] + " and " + words[(i * 5 + 1) % 8]
                    + "\"}");
        }
        Files.write(train, lines.subList(0, 18));
        Files.write(eval, lines.subList(18, 24));
        run = CliRun.of("compare", "--model", TestModels.tinyLlama().toString(), "--data", train.toString(),
                "--eval-file", eval.toString(), "--methods", String.join(",", METHODS), "--steps", "6",
                "--batch-size", "4", "--max-seq-len", "32", "--seeds", String.valueOf(SEEDS), "--r", "4",
                "--lora-alpha", "8", "--lr", "1e-2", "--vera.r", "16", "--vera.lr", "5e-2", "--eval-every", "2",
                "--out", dir.resolve("out").toString());
    }

    static synchronized ComparedOnce get() {
        if (instance == null) {
            try {
                Path dir = Files.createTempDirectory("peftd-compare-test");
                dir.toFile().deleteOnExit();
                instance = new ComparedOnce(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return instance;
    }

    Path out() {
        return dir.resolve("out");
    }

    JsonObject report() throws IOException {
        return JsonParser.parseString(Files.readString(out().resolve("report.json"))).getAsJsonObject();
    }
}
