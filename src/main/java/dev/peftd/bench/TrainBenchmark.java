package dev.peftd.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.tensor.MallocPolicy;
import dev.peftd.core.tensor.OpenMpWaitPolicy;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code bench train}: trains the same random model, batch, rank and targets with peftd and with PEFT + torch, method
 * by method, each in a fresh child process (so peak RSS is per method), interleaved to share the machine's noise,
 * and prints step time, tokens/s and peak RSS side by side as ratios.
 */
public final class TrainBenchmark {

    /**
     * @param methods  each one of {@link TrainBenchmarkRun#METHODS}
     * @param modelDir the model to train, or {@code null} to make a random one of {@code shape} with the script
     * @param python   the Python with torch + transformers + peft that runs {@code script}
     * @param dtype    the base's type on both stacks: {@code float32}, {@code bfloat16} or {@code float16}
     * @param xmx      the peftd children's heap, e.g. {@code 2g}
     */
    public record Settings(List<String> methods, String shape, Path modelDir, int steps, int batch, int seq, int threads,
                           int r, int veraR, String dtype, int rounds, String python, Path script, String xmx,
                           boolean skipActivations, boolean json) {
        public Settings {
            methods = List.copyOf(methods);
        }
    }

    /**
     * For the activation measurement only: glibc then serves every allocation over 64 KiB with its own mapping and
     * returns it on free, so the resident set tracks live tensors (by default freed memory stays resident).
     */
    private static final Map<String, String> FREE_AT_ONCE = Map.of("MALLOC_MMAP_THRESHOLD_", "65536");
    /**
     * peftd's step-time and peak-memory runs get glibc's tunables as peftd's image sets them (Dockerfile {@code ENV},
     * {@link MallocPolicy#SMALL_CACHES_OFF}), unless the caller's environment sets its own: the service as it ships.
     * PEFT runs as its users run it, with glibc's defaults.
     */
    private static final Map<String, String> AS_SHIPPED = System.getenv(MallocPolicy.TUNABLES) != null ? Map.of()
            : Map.of(MallocPolicy.TUNABLES, MallocPolicy.SMALL_CACHES_OFF);
    private static final List<String> PEFT_METHODS = List.of("lora", "lora_fa", "lora_plus", "vera");

    private TrainBenchmark() {
    }

    /**
     * The first {@code python3} on a {@code PATH}-style list of directories: {@code bench train}'s Python when
     * {@code --python} is not given (never a path on one machine).
     */
    public static Optional<Path> python3OnPath(String path) {
        if (path == null) {
            return Optional.empty();
        }
        return Arrays.stream(path.split(java.io.File.pathSeparator)).filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, "python3")).filter(Files::isExecutable).findFirst();
    }

    public static void run(Settings o, PrintStream out, PrintStream err) throws BenchmarkException {
        String python = o.python();
        Path script = o.script();
        List<String> methods = o.methods();
        for (String m : methods) {
            if (!TrainBenchmarkRun.METHODS.contains(m)) {
                throw new BenchmarkException("--methods: unknown method '" + m + "'; known: "
                        + TrainBenchmarkRun.METHODS);
            }
        }
        if (!Files.isRegularFile(script)) {
            throw new BenchmarkException("--script: " + script
                    + " not found (run from the repository root or pass --script)");
        }
        List<String> common = List.of("--steps", Integer.toString(o.steps()), "--batch", Integer.toString(o.batch()),
                "--seq", Integer.toString(o.seq()), "--threads", Integer.toString(o.threads()),
                "--r", Integer.toString(o.r()), "--vera-r", Integer.toString(o.veraR()), "--dtype", o.dtype());
        Path modelDir;
        try {
            modelDir = o.modelDir() != null ? o.modelDir() : makeModel(python, script, o.shape(), err);
        } catch (IOException e) {
            throw new BenchmarkException("bench model: " + e.getMessage());
        }
        out.printf(Locale.ROOT, "model %s, batch %d x %d, %d threads, %d steps per run (median of steps 2..n), "
                + "median of %d round(s), base in %s%n", modelDir, o.batch(), o.seq(), o.threads(), o.steps(), o.rounds(),
                o.dtype());
        out.printf(Locale.ROOT, "glibc: peftd %s, PEFT with its defaults%n", AS_SHIPPED.isEmpty()
                ? "with this environment's " + MallocPolicy.TUNABLES
                : MallocPolicy.TUNABLES + "=" + MallocPolicy.SMALL_CACHES_OFF + " as its image runs");
        out.printf(Locale.ROOT, "%-11s %12s %12s %7s %12s %12s %7s %12s %12s %12s %12s %7s%n", "method", "peftd s/step",
                "PEFT s/step", "ratio", "peftd cpu-s", "PEFT cpu-s", "ratio", "peftd tok/s", "PEFT tok/s",
                "peftd RSS", "PEFT RSS", "ratio");
        List<JsonObject> rows = new ArrayList<>();
        int rounds = o.rounds();
        for (String method : methods) {
            // the two stacks alternate round by round, so slow phases of a noisy machine hit both
            List<JsonObject> oursRuns = new ArrayList<>();
            List<JsonObject> peftRuns = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                boolean peftFirst = round % 2 == 1; // and take turns going first
                if (peftFirst && PEFT_METHODS.contains(method)) {
                    peftRuns.add(runChild(peftChild(python, script, "run", modelDir, method, common), Map.of(), err));
                }
                oursRuns.add(runChild(peftdChild(o, modelDir, method, common, false), AS_SHIPPED, err));
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
            if (!o.json()) {
                printRow(out, method, ours, peft);
            }
        }
        if (!o.skipActivations()) {
            if (!o.json()) {
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
                if (!o.json()) {
                    printActivations(out, method, ours, peft, loraOurs, loraPeft);
                }
            }
        }
        if (o.json()) {
            rows.forEach(out::println);
        }
    }

    /** The median over rounds of each summary figure, with every round's own result under {@code runs}. */
    private static JsonObject acrossRounds(List<JsonObject> runs) {
        JsonObject combined = new JsonObject();
        combined.addProperty("method", runs.get(0).get("method").getAsString());
        for (String key : List.of("median_step_s", "median_cpu_s", "tokens_per_s", "peak_rss_mb")) {
            combined.addProperty(key, Medians.of(runs.stream().mapToDouble(r -> r.get(key).getAsDouble())
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

    private static List<String> peftdChild(Settings o, Path modelDir, String method, List<String> common,
                                           boolean activations) {
        List<String> java = new ArrayList<>(List.of(javaBinary(), "-Xmx" + o.xmx(),
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=" + o.threads(),
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
            throws IOException, BenchmarkException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "peftd-bench-" + shape);
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            runChild(List.of(python, script.toString(), "make-model", "--out", dir.toString(), "--shape", shape), Map.of(),
                    err);
        }
        return dir;
    }

    /** Runs a child to completion and returns its last stdout line that is a JSON object. */
    private static JsonObject runChild(List<String> command, Map<String, String> env, PrintStream err)
            throws BenchmarkException {
        Path errors = null;
        try {
            errors = Files.createTempFile("peftd-bench", ".err");
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile());
            builder.environment().putAll(env);
            OpenMpWaitPolicy.passTo(builder); // PEFT under the same OpenMP wait policy as peftd
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
                throw new BenchmarkException("benchmark child failed (exit " + rc + ": " + lastError + "): "
                        + String.join(" ", command));
            }
            return JsonParser.parseString(last).getAsJsonObject();
        } catch (IOException e) {
            throw new BenchmarkException("cannot start " + command.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchmarkException("interrupted");
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
