package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HalfGemmTest {

    /** Two processors of an AMD EPYC with AVX-512 BF16 (no FP16), as /proc/cpuinfo lists them (abridged). */
    private static final String EPYC = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            model name\t: AMD EPYC
            flags\t\t: fpu vme sse sse2 avx avx2 fma f16c avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
            bugs\t\t: sysret_ss_attrs

            processor\t: 1
            flags\t\t: fpu vme sse sse2 avx avx2 fma f16c avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
            """;

    @Test
    void aCpuWithBf16DotProductsRunsBf16NativelyAndFp16Upcast(@TempDir Path dir) throws Exception {
        Path cpuinfo = Files.writeString(dir.resolve("cpuinfo"), EPYC);
        Set<String> flags = HalfGemm.flags(cpuinfo);
        assertThat(flags).contains("avx512_bf16", "avx2").doesNotContain("avx512_fp16", "sysret_ss_attrs");
        assertThat(HalfGemm.forCpu(flags, HalfType.BFLOAT16)).isEqualTo(HalfGemm.NATIVE);
        assertThat(HalfGemm.forCpu(flags, HalfType.FLOAT16)).isEqualTo(HalfGemm.UPCAST);
    }

    @Test
    void anAvx2CpuUpcastsBothAndAmxOrAvx512Fp16RunsFp16Natively() {
        Set<String> avx2 = Set.of("avx", "avx2", "fma", "f16c");
        assertThat(HalfGemm.forCpu(avx2, HalfType.BFLOAT16)).isEqualTo(HalfGemm.UPCAST);
        assertThat(HalfGemm.forCpu(avx2, HalfType.FLOAT16)).isEqualTo(HalfGemm.UPCAST);
        assertThat(HalfGemm.forCpu(Set.of("amx_bf16", "amx_fp16"), HalfType.FLOAT16)).isEqualTo(HalfGemm.NATIVE);
        assertThat(HalfGemm.forCpu(Set.of("avx512_fp16"), HalfType.FLOAT16)).isEqualTo(HalfGemm.NATIVE);
    }

    @Test
    void aGpuRunsEveryHalfTypeNativelyAndAMissingCpuinfoMeansUpcast(@TempDir Path dir) {
        for (HalfType type : HalfType.values()) {
            assertThat(HalfGemm.on(Device.gpu(0), type)).isEqualTo(HalfGemm.NATIVE);
        }
        assertThat(HalfGemm.flags(dir.resolve("absent"))).isEmpty();
    }
}
