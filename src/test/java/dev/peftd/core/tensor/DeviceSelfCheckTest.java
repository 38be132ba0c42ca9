package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

/** The self-check's verdicts: a right op passes within its dtype's tolerance, a wrong or NaN one fails. */
class DeviceSelfCheckTest {

    @Test
    void theHalfFenceOnTheCpuPassesWithErrorsOfTheDtypesRounding() {
        for (HalfType half : HalfType.values()) {
            DeviceSelfCheck.Result r = DeviceSelfCheck.check(Device.cpu(), half, 0.02);
            assertThat(r.passed()).as(r.toString()).isTrue();
            assertThat(r.ops()).hasSize(5).allSatisfy(op -> assertThat(op.relativeError()).isLessThan(op.tolerance()));
            assertThat(r.gemm()).isPositive();
            assertThat(r.gemv()).isPositive();
        }
    }

    @Test
    void anErrorBeyondTheToleranceOrANanFails() {
        assertThat(new DeviceSelfCheck.OpCheck("op", 1e-3, 1e-2).passed()).isTrue();
        assertThat(new DeviceSelfCheck.OpCheck("op", 2e-2, 1e-2).passed()).isFalse();
        assertThat(new DeviceSelfCheck.OpCheck("op", Double.NaN, 1e-2).passed()).isFalse();
        assertThat(new DeviceSelfCheck.Result("cpu()", "bfloat16", java.util.List.of(), 0, 0, "no device").passed())
                .isFalse();
    }
}
