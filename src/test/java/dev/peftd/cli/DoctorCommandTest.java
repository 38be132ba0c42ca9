package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.tensor.DeviceSelfCheck;
import org.junit.jupiter.api.Test;

/** {@code doctor} on this machine's CPU: every check passes in each dtype; a missing GPU and bad options fail clearly. */
class DoctorCommandTest {

    @Test
    void checksTheCpuInEveryDtypeAndPasses() {
        CliRun run = CliRun.of("doctor", "--device", "cpu", "--seconds", "0.05");
        assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
        assertThat(run.out()).contains("libtorch devices: cpu");
        assertThat(run.out()).as("what the default dtype does here").contains("cpu(): dtype auto loads bfloat16 checkpoints in "
                + ModelDtype.auto(ModelDtype.BFLOAT16, Device.cpu()) + ", float16 checkpoints in "
                + ModelDtype.auto(ModelDtype.FLOAT16, Device.cpu()));
        for (String dtype : new String[] {"float32", "bfloat16", "float16"}) {
            assertThat(run.out()).containsPattern("cpu\\(\\)\\s+" + dtype + "\\s+pass");
        }
        assertThat(run.out()).contains("linear, 1 row", "linear, input gradient", "rms_norm", "causal attention",
                "GFLOP/s at 128 rows").doesNotContain("FAIL").endsWith("PASS\n");
    }

    @Test
    void aGpuThatLibtorchDoesNotSeeIsAFailureThatSaysWhy() {
        assumeTrue(DeviceSelfCheck.devices().size() == 1, "this machine has a GPU");
        CliRun run = CliRun.of("doctor", "--device", "gpu:0", "--dtype", "bfloat16");
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("--device gpu:0: libtorch sees 0 GPU(s)", "missing CUDA libraries");
        assertThat(run.out()).contains("FAIL");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(CliRun.of("doctor", "--dtype", "auto").exitCode()).isEqualTo(Cli.USAGE_ERROR);
        assertThat(CliRun.of("doctor", "--device", "tpu").err()).contains("--device: give cpu, gpu or gpu:N");
        assertThat(CliRun.of("doctor", "--seconds", "0").exitCode()).isEqualTo(Cli.USAGE_ERROR);
    }
}
