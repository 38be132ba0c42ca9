package dev.peftd.core.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Prefill and decode throughput of the runtime's forward pass, side by side with transformers on the same model,
 * batch and thread count, in one run (a benchmark, not a test: it asserts nothing). Use one thread: throughput is
 * tokens per second of the calling thread's CPU time.
 *
 * <pre>
 * java -Dai.djl.pytorch.num_threads=1 -cp ... dev.peftd.core.model.ForwardBenchmark MODEL_DIR [PYTHON] [PROMPT] [NEW]
 * </pre>
 * With PYTHON given it also runs {@code tools/bench/forward_bench.py} with the same settings and prints the ratio.
 */
public final class ForwardBenchmark {

    private static final int REPEATS = 5;
    /**
     * Timing is the calling thread's CPU time, not wall time: with one libtorch thread every op runs on the calling
     * thread, and CPU time stays meaningful on a shared, overloaded build machine where wall time does not.
     */
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    private ForwardBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String python = args.length > 1 ? args[1] : null;
        int prompt = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int decode = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        int threads = Integer.getInteger("ai.djl.pytorch.num_threads", Runtime.getRuntime().availableProcessors());
        double[] peftd = measure(dir, prompt, decode);
        System.out.printf("peftd        prefill %d tokens: %.1f tokens/s   decode %d tokens: %.1f tokens/s (%d threads)%n",
                prompt, peftd[0], decode, peftd[1], threads);
        if (python != null) {
            Process p = new ProcessBuilder(python, "tools/bench/forward_bench.py", dir.toString(), String.valueOf(prompt),
                    String.valueOf(decode), String.valueOf(threads), String.valueOf(REPEATS)).redirectErrorStream(true).start();
            double[] reference = null;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    System.out.println(line);
                    if (line.startsWith("RESULT ")) {
                        String[] parts = line.split(" ");
                        reference = new double[] {Double.parseDouble(parts[1]), Double.parseDouble(parts[2])};
                    }
                }
            }
            if (p.waitFor() == 0 && reference != null) {
                System.out.printf("peftd / transformers: prefill %.2fx, decode %.2fx (higher is faster)%n",
                        peftd[0] / reference[0], peftd[1] / reference[1]);
            }
        }
    }

    /** @return median prefill tokens/s and median decode tokens/s over {@link #REPEATS} runs (after one warm-up) */
    private static double[] measure(Path dir, int prompt, int decode) throws Exception {
        try (CausalLm model = ModelLoader.load(dir, Device.cpu()); NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            long[] ids = new Random(0).longs(prompt, 3, model.config().vocabSize()).toArray();
            NDArray input = manager.create(ids, new Shape(1, prompt));
            List<Double> prefill = new ArrayList<>();
            List<Double> steps = new ArrayList<>();
            for (int run = 0; run <= REPEATS; run++) {
                long start = CPU.getCurrentThreadCpuTime();
                try (NDScope scope = new NDScope()) {
                    model.forward(input, null, null).get(new NDIndex("0, -1")).argMax().getLong();
                }
                double prefillSeconds = (CPU.getCurrentThreadCpuTime() - start) / 1e9;
                double decodeSeconds = decodeSeconds(model, manager, input, decode);
                if (run > 0) { // run 0 warms up
                    prefill.add(prompt / prefillSeconds);
                    steps.add(decode / decodeSeconds);
                }
            }
            return new double[] {median(prefill), median(steps)};
        }
    }

    /** Greedy decoding with the cache after a prefill; only the {@code count} single-token steps are timed. */
    private static double decodeSeconds(CausalLm model, NDManager manager, NDArray prompt, int count) {
        try (KvCache cache = model.newCache()) {
            long next;
            try (NDScope scope = new NDScope()) {
                next = model.forward(prompt, cache, null).get(new NDIndex("0, -1")).argMax().getLong();
            }
            long start = CPU.getCurrentThreadCpuTime();
            for (int i = 0; i < count; i++) {
                try (NDScope scope = new NDScope()) {
                    NDArray token = manager.create(new long[] {next}, new Shape(1, 1));
                    next = model.forward(token, cache, null).get(new NDIndex("0, -1")).argMax().getLong();
                }
            }
            return (CPU.getCurrentThreadCpuTime() - start) / 1e9;
        }
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
