package dev.peftd.cli;

import ai.djl.Device;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.tensor.DeviceSelfCheck;
import dev.peftd.core.tensor.HalfType;
import dev.peftd.core.tensor.MallocPolicy;
import dev.peftd.core.tensor.OpenMpWaitPolicy;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code doctor [--device D] [--dtype D] [--seconds S]}: lists the devices libtorch sees and, on each, runs
 * {@link DeviceSelfCheck} per dtype (the half-precision fence's linear, its gradient, RMSNorm and attention against
 * float32, then the linear's throughput). Exit 0 when every check passes, 1 when one fails or a device asked for is
 * missing, 2 for bad options.
 */
final class DoctorCommand implements Command {

    static final String HELP = """
            usage: doctor [--device cpu|gpu|gpu:N] [--dtype float32|bfloat16|float16] [--seconds S]
              Checks that this machine computes what peftd runs: on each device (default: the CPU and every GPU
              libtorch sees), for each dtype (default: all three), a linear through the half-precision fence with
              several rows, one row and a gradient, an RMSNorm and a causal attention against float32 on the same
              device, and the linear's throughput as peftd runs it (GFLOP/s). Exit code 0 when all pass, 1 if any
              fails or the device asked for is missing (e.g. no CUDA libraries), 2 for bad options.
              --seconds S        time per throughput measure (default 0.5)""";

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, Set.of("device", "dtype", "seconds"), Set.of());
        List<HalfType> dtypes = dtypes(o);
        double seconds = o.number("seconds", 0.5);
        if (!(seconds > 0 && seconds <= 60)) {
            throw new UsageException("--seconds: must be in (0, 60], got " + seconds);
        }
        List<Device> visible = DeviceSelfCheck.devices();
        out.println("libtorch devices: " + String.join(", ", visible.stream().map(Device::toString).toList())
                + (visible.size() == 1 ? " (no GPU: a CPU-only libtorch, no CUDA libraries or no visible device)" : ""));
        out.println("OpenMP wait policy: " + OpenMpWaitPolicy.current().orElse("libgomp's default (spinning)")
                + " (OMP_WAIT_POLICY; peftd sets PASSIVE when unset, ACTIVE suits cores that are the service's alone)");
        long probeKib = MallocPolicy.PROBE_BYTES >> 10;
        out.println("malloc: " + MallocPolicy.current() + MallocPolicy.mapsOnItsOwn(MallocPolicy.PROBE_BYTES)
                .map(own -> "; after a 16 MiB block is freed, a " + probeKib + " KiB block "
                        + (own ? "gets its own mapping" : "comes from the heap"))
                .orElse(""));
        out.println("malloc small-block caches: " + MallocPolicy.smallBlockCaches());
        List<Device> devices;
        try {
            devices = selected(o.string("device", null), visible);
        } catch (MissingDevice e) {
            err.println("peftd doctor: " + e.getMessage());
            out.println("FAIL");
            return 1;
        }
        boolean allPassed = true;
        for (Device device : devices) {
            out.println(device + ": dtype auto loads " + autoOn(device));
            for (HalfType half : dtypes) {
                DeviceSelfCheck.Result r = DeviceSelfCheck.check(device, half, seconds);
                allPassed &= r.passed();
                print(out, r);
            }
        }
        out.println(allPassed ? "PASS" : "FAIL");
        return allPassed ? 0 : 1;
    }

    /** What the default dtype, auto, makes of each half checkpoint on {@code device}. */
    private static String autoOn(Device device) {
        return Stream.of(ModelDtype.BFLOAT16, ModelDtype.FLOAT16)
                .map(stored -> stored + " checkpoints in " + ModelDtype.auto(stored, device))
                .collect(Collectors.joining(", ")) + ", float32 ones in float32";
    }

    private static void print(PrintStream out, DeviceSelfCheck.Result r) {
        out.printf(Locale.ROOT, "%-6s %-8s  %s%n", r.device(), r.dtype(), r.passed() ? "pass" : "FAIL");
        if (r.error() != null) {
            out.println("    cannot run: " + r.error());
            return;
        }
        for (DeviceSelfCheck.OpCheck op : r.ops()) {
            out.printf(Locale.ROOT, "    %-34s max error %.2e of the largest value (tolerance %.1e)  %s%n", op.op(),
                    op.relativeError(), op.tolerance(), op.passed() ? "ok" : "FAIL");
        }
        out.printf(Locale.ROOT, "    linear throughput: %.3g GFLOP/s at 128 rows, %.3g GFLOP/s at 1 row (1024 x 1024)%n",
                r.gemm(), r.gemv());
    }

    /** {@code --dtype}: one of the three, or all of them ({@code null} stands for float32). */
    private static List<HalfType> dtypes(CliOptions o) throws UsageException {
        List<HalfType> all = new ArrayList<>();
        all.add(null);
        all.add(HalfType.BFLOAT16);
        all.add(HalfType.FLOAT16);
        if (!o.has("dtype")) {
            return all;
        }
        ModelDtype dtype = ModelArgument.dtype(o);
        return switch (dtype) {
            case FLOAT32 -> all.subList(0, 1);
            case BFLOAT16 -> List.of(HalfType.BFLOAT16);
            case FLOAT16 -> List.of(HalfType.FLOAT16);
            case AUTO -> throw new UsageException("--dtype: give float32, bfloat16 or float16 (auto needs a model)");
        };
    }

    private static List<Device> selected(String name, List<Device> visible) throws MissingDevice, UsageException {
        if (name == null) {
            return visible;
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.equals("cpu")) {
            return List.of(Device.cpu());
        }
        List<Device> gpus = visible.stream().filter(Device::isGpu).toList();
        if (lower.equals("gpu") || lower.equals("cuda")) {
            if (gpus.isEmpty()) {
                throw new MissingDevice("--device " + name + ": libtorch sees no GPU (a CPU-only libtorch, missing CUDA"
                        + " libraries, or no visible device: check nvidia-smi, CUDA_VISIBLE_DEVICES and PYTORCH_FLAVOR)");
            }
            return gpus;
        }
        if (lower.matches("(gpu|cuda):\\d{1,3}")) {
            int id = Integer.parseInt(lower.substring(lower.indexOf(':') + 1));
            if (id >= gpus.size()) {
                throw new MissingDevice("--device " + name + ": libtorch sees " + gpus.size() + " GPU(s)"
                        + (gpus.isEmpty() ? " (a CPU-only libtorch, missing CUDA libraries, or no visible device)" : ""));
            }
            return List.of(Device.gpu(id));
        }
        throw new UsageException("--device: give cpu, gpu or gpu:N, got '" + name + "'");
    }

    /** A device that was asked for and is not there: a failed check (exit 1), not a usage error. */
    private static final class MissingDevice extends Exception {
        MissingDevice(String message) {
            super(message);
        }
    }
}
