package dev.peftd.core.tensor;

import ai.djl.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which GEMM a frozen half linear with several rows and no gradient runs (scoring, prefill, a frozen head's backward):
 * the half GEMM itself on a device that computes the half type natively, or a float32 GEMM on the weight upcast a block
 * at a time on one that does not, where libtorch emulates the half kernel 2–8× slower than float32 (an AVX2 CPU:
 * docs/djl-notes.md, "This machine"). Both give the same values up to summation order: the products of two half
 * numbers are exact in float32, both accumulate in float32, the result is rounded once. One row (a decode step) and
 * an input that requires gradient (training) take the half GEMM on every device.
 */
public enum HalfGemm {
    /** The half GEMM: a GPU, or a CPU with bf16 (fp16) dot-product instructions for a bf16 (fp16) weight. */
    NATIVE,
    /** A float32 GEMM on the weight upcast 4,096 rows at a time. */
    UPCAST;

    /** The CPU flags that mean a native half GEMM, per type (x86: AVX-512 or AMX dot products of the type). */
    private static final Set<String> BF16_FLAGS = Set.of("avx512_bf16", "amx_bf16");
    private static final Set<String> FP16_FLAGS = Set.of("avx512_fp16", "amx_fp16");

    /** This machine's CPU's GEMM per half type, from its flags, decided once (HalfOps asks at every linear call). */
    private static final class Cpu {
        private static final Map<HalfType, HalfGemm> CHOICE = new EnumMap<>(HalfType.class);

        static {
            Set<String> flags = flags(Path.of("/proc/cpuinfo"));
            for (HalfType type : HalfType.values()) {
                CHOICE.put(type, forCpu(flags, type));
            }
        }
    }

    /** The GEMM for a {@code type} weight on {@code device}. */
    public static HalfGemm on(Device device, HalfType type) {
        return device.isGpu() ? NATIVE : Cpu.CHOICE.get(type);
    }

    static HalfGemm forCpu(Set<String> cpuFlags, HalfType type) {
        Set<String> wanted = type == HalfType.BFLOAT16 ? BF16_FLAGS : FP16_FLAGS;
        return wanted.stream().anyMatch(cpuFlags::contains) ? NATIVE : UPCAST;
    }

    /** The flags of the first processor listed in a {@code /proc/cpuinfo}-format file ({@code flags : a b c}). */
    static Set<String> flags(Path cpuinfo) {
        try (var lines = Files.lines(cpuinfo)) {
            return lines.filter(line -> line.startsWith("flags"))
                    .findFirst()
                    .map(line -> Arrays.stream(line.substring(line.indexOf(':') + 1).trim().split("\\s+"))
                            .collect(Collectors.toUnmodifiableSet()))
                    .orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of(); // no /proc (not Linux): no half instructions assumed, the upcast is never far off
        }
    }
}
