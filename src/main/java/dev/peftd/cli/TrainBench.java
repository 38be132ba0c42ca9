package dev.peftd.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code bench train}: trains the same random model, batch, rank and targets with peftd and with PEFT + torch, method
 * by method, each in a fresh child process (so peak RSS is per method), interleaved to share the machine's noise,
 * and prints step time, tokens/s and peak RSS side by side as ratios.
 */
final class TrainBench implements Command {

    static final String HELP = """
            usage: bench train [--methods lora,lora_fa,lora_plus,vera,delta_lora] [--shape smollm2-135m | --model-dir DIR]
                               [--steps N] [--batch B] [--seq T] [--threads N] [--r R] [--vera-r R] [--rounds N]
                               [--python PATH] [--script tools/bench/train_bench.py] [--xmx SIZE] [--skip-activations] [--json]
              Trains each method with peftd and with PEFT + torch (the --python running --script) on the same
              random model and batches, each run in a fresh process, and prints step time, tokens/s, peak RSS and
              saved activations side by side (defaults: 6 steps, batch 4 x 256, 2 threads, r 16, VeRA r 256, 1 round).""";

    private static final Set<String> VALUED = Set.of("methods", "shape", "steps", "batch", "seq", "threads", "r",
            "vera-r", "python", "script", "model-dir", "xmx", "rounds");
    private static final Set<String> FLAGS = Set.of("json", "skip-activations");
    /**
     * For the activation measurement only: glibc then serves every allocation over 64 KiB with its own mapping and
     * returns it on free, so the resident set tracks live tensors (by default freed memory stays resident).
     */
    private static final Map<String, String> FREE_AT_ONCE = Map.of("MALLOC_MMAP_THRESHOLD_", "65536");
    private static final List<String> PEFT_METHODS = List.of("lora", "lora_fa", "lora_plus", "vera");

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, VALUED, FLAGS);
        String python = o.string("python", "/work/refvenv/bin/python");
        Path script = Path.of(o.string("script", "tools/bench/train_bench.py"));
        List<String> methods = List.of(o.string("methods", "lora,lora_fa,lora_plus,vera,delta_lora").split(","));
        for (String m : methods) {
            if (!TrainBenchRun.METHODS.contains(m)) {
                throw new UsageException("--methods: unknown method '" + m + "'; known: " + TrainBenchRun.METHODS);
            }
        }
        if (!Files.isRegularFile(script)) {
            throw new UsageException("--script: " + script + " not found (run from the repository root or pass --script)");
        }
        List<String> common = List.of("--steps", o.string("steps", "6"), "--batch", o.string("batch", "4"),
                "--seq", o.string("seq", "256"), "--threads", o.string("threads", "2"), "--r", o.string("r", "16"),
                "--vera-r", o.string("vera-r", "256"));
        Path modelDir;
        try {
            modelDir = o.has("model-dir") ? Path.of(o.string("model-dir", null)) : makeModel(python, script,
                    o.string("shape", "smollm2-135m"), err);
        } catch (IOException e) {
            throw new UsageException("bench model: " + e.getMessage());
        }
        out.printf(Locale.ROOT, "model %s, batch %s x %s, %s threads, %s steps per run (median of steps 2..n), "
                        + "median of %d round(s)%n", modelDir, o.string("batch", "4"), o.string("seq", "256"),
                o.string("threads", "2"), o.string("steps", "6"), o.integer("rounds", 1));
        out.printf(Locale.ROOT, "%-11s %12s %12s %7s %12s %12s %7s %12s %12s %12s %12s %7s%n", "method", "peftd s/step",
                "PEFT s/step", "ratio", "peftd cpu-s", "PEFT cpu-s", "ratio", "peftd tok/s", "PEFT tok/s",
                "peftd RSS", "PEFT RSS", "ratio");
        List<JsonObject> rows = new ArrayList<>();
        int rounds = o.integer("rounds", 1);
        for (String method : methods) {
            // the two stacks alternate round by round, so slow phases of a noisy machine hit both
            List<JsonObject> oursRuns = new ArrayList<>();
            List<JsonObject> peftRuns = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                boolean peftFirst = round % 2 == 1; // and take turns going first
                if (peftFirst && PEFT_METHODS.contains(method)) {
                    peftRuns.add(runChild(peftChild(python, script, "run", modelDir, method, common), Map.of(), err));
                }
                oursRuns.add(runChild(peftdChild(o, modelDir, method, common, false), Map.of(), err));
                if (!peftFirst && PEFT_METHODS.contains(method)) {
                    peftRuns.add(runChild(peftChild(python, script, "run", modelDir, method, common), Map.of(), err));
                }
            }
            JsonObject ours = acrossRounds(oursRuns);
            JsonObject peft = peftRuns.isEmpty() ? null : acrossRounds(peftRuns);
            JsonObject row = new JsonObject();
            row.addProperty("method", method);
            row.add("peftd", ours);
            row.add("peft", peft);
            rows.add(row);
            if (!o.flag("json")) {
                printRow(out, method, ours, peft);
            }
        }
        if (!o.flag("skip-activations")) {
            if (!o.flag("json")) {
                out.printf(Locale.ROOT, "%nsaved activations after the body's forward, MB (glibc %s in both):%n",
                        String.join(" ", FREE_AT_ONCE.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                                .toList()));
                out.printf(Locale.ROOT, "%-11s %12s %12s %7s %14s %14s%n", "method", "peftd", "PEFT", "ratio",
                        "peftd/LoRA", "PEFT/LoRA");
            }
            JsonObject loraOurs = null;
            JsonObject loraPeft = null;
            for (JsonObject row : rows) {
                String method = row.get("method").getAsString();
                JsonObject ours = runChild(peftdChild(o, modelDir, method, common, true), FREE_AT_ONCE, err);
                JsonObject peft = PEFT_METHODS.contains(method)
                        ? runChild(peftChild(python, script, "activations", modelDir, method, common), FREE_AT_ONCE, err)
                        : null;
                row.get("peftd").getAsJsonObject().add("activation_mb", ours.get("activation_mb"));
                if (peft != null) {
                    row.get("peft").getAsJsonObject().add("activation_mb", peft.get("activation_mb"));
                }
                if (method.equals("lora")) {
                    loraOurs = ours;
                    loraPeft = peft;
                }
                if (!o.flag("json")) {
                    printActivations(out, method, ours, peft, loraOurs, loraPeft);
                }
            }
        }
        if (o.flag("json")) {
            rows.forEach(out::println);
        }
        return 0;
    }

    /** The median over rounds of each summary figure, with every round's own result under {@code runs}. */
    private static JsonObject acrossRounds(List<JsonObject> runs) {
        JsonObject combined = new JsonObject();
        combined.addProperty("method", runs.get(0).get("method").getAsString());
        for (String key : List.of("median_step_s", "median_cpu_s", "tokens_per_s", "peak_rss_mb")) {
            combined.addProperty(key, TrainBenchRun.median(runs.stream().mapToDouble(r -> r.get(key).getAsDouble())
                    .toArray()));
        }
        JsonArray all = new JsonArray();
        runs.forEach(all::add);
        combined.add("runs", all);
        return combined;
    }

    /** Activation MB of both stacks, their ratio, and each relative to its own LoRA (when LoRA was measured). */
    private static void printActivations(PrintStream out, String method, JsonObject ours, JsonObject peft,
                                         JsonObject loraOurs, JsonObject loraPeft) {
        double mine = ours.get("activation_mb").getAsDouble();
        double theirs = peft == null ? Double.NaN : peft.get("activation_mb").getAsDouble();
        out.printf(Locale.ROOT, "%-11s %10.0fMB %12s %7s %14s %14s%n", method, mine,
                peft == null ? "-" : String.format(Locale.ROOT, "%.0fMB", theirs),
                peft == null ? "-" : String.format(Locale.ROOT, "%.2fx", mine / theirs),
                relative(mine, loraOurs), relative(theirs, loraPeft));
    }

    private static String relative(double value, JsonObject lora) {
        return lora == null || Double.isNaN(value) ? "-"
                : String.format(Locale.ROOT, "%.3fx", value / lora.get("activation_mb").getAsDouble());
    }

    private static List<String> peftdChild(CliOptions o, Path modelDir, String method, List<String> common,
                                           boolean activations) {
        List<String> java = new ArrayList<>(List.of(javaBinary(), "-Xmx" + o.string("xmx", "2g"),
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=" + o.string("threads", "2"),
                "-Dai.djl.pytorch.num_interop_threads=1"));
        java.addAll(selfLaunch());
        java.addAll(List.of("bench", "train-one", "--model", modelDir.toString(), "--method", method));
        java.addAll(common);
        if (activations) {
            java.add("--activations");
        }
        return java;
    }

    private static List<String> peftChild(String python, Path script, String mode, Path modelDir, String method,
                                          List<String> common) {
        List<String> py = new ArrayList<>(List.of(python, script.toString(), mode, "--model", modelDir.toString(),
                "--method", method));
        py.addAll(common);
        return py;
    }

    /** One row: peftd, PEFT and peftd/PEFT for median step wall time, median step CPU time and peak RSS. */
    private static void printRow(PrintStream out, String method, JsonObject ours, JsonObject peft) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-11s", method));
        for (String key : List.of("median_step_s", "median_cpu_s", "tokens_per_s", "peak_rss_mb")) {
            double mine = ours.get(key).getAsDouble();
            String unit = key.equals("peak_rss_mb") ? "MB" : "";
            String format = unit.isEmpty() ? (key.equals("tokens_per_s") ? "%12.0f%s" : "%12.3f%s") : "%10.0f%s";
            row.append(' ').append(String.format(Locale.ROOT, format, mine, unit));
            if (peft == null) {
                row.append(String.format(Locale.ROOT, " %12s", "-"));
                if (!key.equals("tokens_per_s")) {
                    row.append(String.format(Locale.ROOT, " %7s", "-"));
                }
                continue;
            }
            double theirs = peft.get(key).getAsDouble();
            row.append(' ').append(String.format(Locale.ROOT, format, theirs, unit));
            if (!key.equals("tokens_per_s")) {
                row.append(String.format(Locale.ROOT, " %6.2fx", mine / theirs));
            }
        }
        out.println(row);
    }

    private static Path makeModel(String python, Path script, String shape, PrintStream err)
            throws IOException, UsageException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "peftd-bench-" + shape);
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            runChild(List.of(python, script.toString(), "make-model", "--out", dir.toString(), "--shape", shape), Map.of(),
                    err);
        }
        return dir;
    }

    /** Runs a child to completion and returns its last stdout line that is a JSON object. */
    private static JsonObject runChild(List<String> command, Map<String, String> env, PrintStream err)
            throws UsageException {
        Path errors = null;
        try {
            errors = Files.createTempFile("peftd-bench", ".err");
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile());
            builder.environment().putAll(env);
            Process p = builder.start();
            String last = null;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("{")) {
                        last = line;
                    }
                }
            }
            int rc = p.waitFor();
            if (rc != 0 || last == null) {
                List<String> lines = Files.readAllLines(errors);
                String lastError = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
                throw new UsageException("benchmark child failed (exit " + rc + ": " + lastError + "): "
                        + String.join(" ", command));
            }
            return JsonParser.parseString(last).getAsJsonObject();
        } catch (IOException e) {
            throw new UsageException("cannot start " + command.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UsageException("interrupted");
        } finally {
            if (errors != null) {
                try {
                    Files.deleteIfExists(errors);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless
                }
            }
        }
    }

    /** How to start this program again: {@code -jar peftd.jar} when run from the jar, else the class path. */
    private static List<String> selfLaunch() {
        String cp = System.getProperty("java.class.path");
        if (cp.endsWith(".jar") && !cp.contains(java.io.File.pathSeparator)) {
            return List.of("-jar", cp); // a Spring Boot jar keeps its classes under BOOT-INF: only its launcher finds them
        }
        return List.of("-cp", cp, "dev.peftd.PeftdApplication");
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }
}
