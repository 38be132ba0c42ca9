package dev.peftd.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.NoGrad;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A wide float32 layer (an output head) over a few rows computes its output in slices of output rows
 * ({@link LinearLayer#SLICE_OUT}): each output element is the same dot product as in one whole product, so the
 * result is the same up to float32 rounding (MKL's kernel, and with it an element's summation order, depends on the
 * product's width), with or without a bias, whatever the leading axes.
 */
class LinearLayerTest {

    private static final long OUT = LinearLayer.WIDE_OUT + 777; // a last slice shorter than the others

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 16, 128, 129})
    void aWideLayerOverFewRowsGivesTheWholeProduct(int rows) {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            manager.getEngine().setRandomSeed(5);
            NDArray weight = manager.randomNormal(new Shape(OUT, 24)); // [out, in]
            NDArray bias = manager.randomNormal(new Shape(OUT));       // [out]
            NDArray x = manager.randomNormal(new Shape(1, rows, 24));  // [1, rows, in]
            for (NDArray b : new NDArray[] {null, bias}) {
                NDArray whole = x.getNDArrayInternal().linear(x, weight, b).singletonOrThrow(); // [1, rows, out]
                NDArray layered = new LinearLayer("lm_head", weight, b).baseOutput(x);
                assertThat(layered.getShape()).isEqualTo(new Shape(1, rows, OUT));
                float scale = whole.abs().max().getFloat();
                float difference = whole.sub(layered).abs().max().getFloat();
                // MKL picks its kernel by the product's width, so the summation order of an element may differ:
                // the same values up to float32 rounding
                assertThat(difference).as("max |Δ| of %s rows, bias %s", rows, b != null).isLessThanOrEqualTo(1e-6f * scale);
            }
        }
    }

    @Test
    void onlyWideLayersOverFewRowsAreSliced() {
        // the rule itself, so that a change to it is a decision: one row is a matrix-vector product (slower sliced),
        // many rows are an efficient GEMM already, a narrow weight gains nothing
        assertThat(LinearLayer.sliced(1, 32_000)).isFalse();
        assertThat(LinearLayer.sliced(16, 32_000)).isTrue();
        assertThat(LinearLayer.sliced(128, 32_000)).isTrue();
        assertThat(LinearLayer.sliced(129, 32_000)).isFalse();
        assertThat(LinearLayer.sliced(16, 2_048)).isFalse();
    }
}
