package dev.peftd.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.LowRank;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.GroupedHook;
import dev.peftd.core.model.HostFactors;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.LowRankHook;
import dev.peftd.core.tensor.NoGrad;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One decode step's adapted linears alone, per form of the rows' deltas: every linear that an adapter targets, called
 * once on its own {@code [B, 1, in]} input through a {@link GroupedHook} whose B rows each carry their own adapter
 * (the adapters folder's PEFT directories, cycled), beside the same linears' base GEMMs alone. The forms are what
 * GroupedHook picks when the adapters offer them: Java deltas ({@link HostFactors}), each row's merged weight (past
 * GroupedHook's stack cap a module gathers instead) and gathered factors (factors only). Between steps {@code flushMb}
 * MB are written, as a serving step's other work takes the caches; the forms alternate within each step, and each
 * is timed over its step's linears: ms a step, medians over the steps after one warm-up step (which builds the
 * stacks and copies). What {@code bench serving-batch} measures end to end, taken apart: why a form wins or not.
 */
public final class AdapterRowsBenchmark {

    /** The counts of one run (command-line defaults: all cores, rows 8,16,64, 200 steps, 64 MB flushed). */
    public record Settings(int threads, List<Integer> rows, int steps, int flushMb) {
    }

    private static final String[] FORMS = {"base", "java", "merged", "gathered"};

    private AdapterRowsBenchmark() {
    }

    public static void run(CausalLm model, Path adaptersDir, Settings s, boolean json, PrintStream out)
            throws IOException {
        List<Path> dirs = AdapterDirs.in(adaptersDir);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("adapters", dirs.size());
        report.put("threads", s.threads());
        report.put("steps", s.steps());
        report.put("flush_mb", s.flushMb());
        List<Map<String, Object>> results = new ArrayList<>();
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager()) {
            List<Factored> adapters = new ArrayList<>();
            for (Path dir : dirs) {
                adapters.add(Factored.load(dir, model, manager));
            }
            List<LinearLayer> layers = model.linears().entrySet().stream()
                    .filter(e -> adapters.get(0).factors.containsKey(e.getKey()))
                    .map(e -> (LinearLayer) e.getValue()).toList();
            for (int rows : s.rows()) {
                results.add(measure(layers, adapters, rows, s, manager));
            }
        }
        report.put("results", results);
        if (json) {
            out.println(new Gson().toJson(report));
            return;
        }
        report.forEach((k, v) -> {
            if (!k.equals("results")) {
                out.printf(Locale.ROOT, "%-9s %s%n", k, v);
            }
        });
        out.printf(Locale.ROOT, "%5s %9s %9s %9s %9s   %s%n", "rows", "base ms", "java ms", "merged ms", "gathered",
                "paths (java / merged / gathered)");
        for (Map<String, Object> r : results) {
            out.printf(Locale.ROOT, "%5s %9.3f %9.3f %9.3f %9.3f   %s%n", r.get("rows"), r.get("base_ms"),
                    r.get("java_ms"), r.get("merged_ms"), r.get("gathered_ms"), r.get("paths"));
        }
    }

    private static Map<String, Object> measure(List<LinearLayer> layers, List<Factored> adapters, int rows, Settings s,
            NDManager manager) {
        Map<Long, NDArray> inputs = new HashMap<>(); // in -> [B, 1, in]
        for (LinearLayer layer : layers) {
            inputs.computeIfAbsent(layer.inFeatures(),
                    in -> manager.randomNormal(0, 1, new Shape(rows, 1, in), DataType.FLOAT32));
        }
        GroupedHook[] hooks = new GroupedHook[FORMS.length];
        for (int f = 1; f < FORMS.length; f++) {
            List<GroupedHook.Group> groups = new ArrayList<>();
            for (int r = 0; r < rows; r++) {
                groups.add(new GroupedHook.Group(1, adapters.get(r % adapters.size()).as(FORMS[f])));
            }
            hooks[f] = new GroupedHook(groups);
        }
        byte[] flush = new byte[s.flushMb() << 20];
        double[][] ms = new double[FORMS.length][s.steps()];
        try {
            for (int step = -1; step < s.steps(); step++) {
                for (int f = 0; f < FORMS.length; f++) {
                    Arrays.fill(flush, (byte) step);
                    long start = System.nanoTime();
                    try (NDScope scope = new NDScope()) {
                        for (LinearLayer layer : layers) {
                            NDArray x = inputs.get(layer.inFeatures());
                            NDArray y = f == 0 ? layer.baseOutput(x) : hooks[f].output(layer, x); // [B, 1, out]
                            y.close();
                        }
                    }
                    if (step >= 0) {
                        ms[f][step] = (System.nanoTime() - start) / 1e6;
                    }
                }
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("rows", rows);
            for (int f = 0; f < FORMS.length; f++) {
                row.put(FORMS[f] + "_ms", Medians.of(ms[f]));
            }
            String first = layers.get(0).name();
            String last = layers.get(layers.size() - 1).name();
            List<String> paths = new ArrayList<>();
            for (int f = 1; f < FORMS.length; f++) {
                paths.add(hooks[f].path(first) + "," + hooks[f].path(last));
            }
            row.put("paths", String.join(" / ", paths));
            return row;
        } finally {
            for (int f = 1; f < FORMS.length; f++) {
                hooks[f].close();
            }
        }
    }

    /** One adapter's deployed factors {@code {left [out, k], right [k, in]}} per module, offered as a form asks. */
    private record Factored(Map<String, NDArray[]> factors) implements LowRankHook {

        static Factored load(Path dir, CausalLm model, NDManager manager) throws IOException {
            Map<String, NDArray[]> factors = new LinkedHashMap<>();
            try (AbstractAdapter adapter = PeftImporter.load(dir, model.linears())) {
                for (String module : adapter.modules()) {
                    LowRank f = adapter.deltaFactors(module);
                    f.left().attach(manager);   // [out, k]
                    f.right().attach(manager);  // [k, in]
                    factors.put(module, new NDArray[] {f.left(), f.right()});
                }
            }
            return new Factored(factors);
        }

        @Override
        public NDArray[] lowRank(String module) {
            return factors.get(module);
        }

        /** This adapter offering Java copies ("java"), merged weights ("merged") or its factors only. */
        LowRankHook as(String form) {
            return switch (form) {
                case "java" -> new Hosted(this, new ConcurrentHashMap<>());
                case "merged" -> new Merging(this, new ConcurrentHashMap<>());
                default -> this;
            };
        }
    }

    /** An adapter's factors, offered in one more form. */
    private interface Offering extends LowRankHook {
        Factored factored();

        @Override
        default NDArray[] lowRank(String module) {
            return factored().lowRank(module);
        }
    }

    private record Hosted(Factored factored, Map<String, HostFactors> copies) implements Offering {
        @Override
        public HostFactors hostFactors(String module) {
            NDArray[] f = factored.factors.get(module);
            return f == null ? null : copies.computeIfAbsent(module, m -> HostFactors.of(f[0], f[1]));
        }
    }

    private record Merging(Factored factored, Map<String, NDArray> merged) implements Offering {
        @Override
        public NDArray mergedRow(LinearLayer layer) {
            NDArray[] f = factored.factors.get(layer.name());
            return merged.computeIfAbsent(layer.name(), m -> {
                NDArray row = LowRankHook.mergedRowOf(layer.weight(), f[0], f[1]); // [1, in, out]
                NDScope.unregister(row);
                row.attach(f[0].getManager());
                return row;
            });
        }
    }
}
