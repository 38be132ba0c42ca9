package dev.peftd.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The half-precision fence: half tensors loaded from raw bits and rounded from float32, and the float32-in/out ops
 * on them. Every test here runs DJL calls on half tensors in this JVM, so a dtype-allocating call slipping into
 * {@link HalfOps} or {@link HalfTensor} would abort the whole test run (which is the point: see
 * {@link HalfFenceAbortTest} for the child-JVM proof that such a call does abort).
 */
class HalfOpsTest {

    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void halfCheckpointTensorsKeepTheirValuesExactly() throws Exception {
        try (SafetensorsFile file = SafetensorsFile.open(SafetensorsFileTest.fixture("python-mixed.safetensors"))) {
            for (String name : new String[] {"bf16", "f16"}) {
                HalfType type = name.equals("bf16") ? HalfType.BFLOAT16 : HalfType.FLOAT16;
                HalfTensor half = file.loadHalf(name, manager, type);
                assertEquals(type, half.type());
                assertArrayEquals(file.entry(name).shape(), half.shape().getShape());
                try (NDArray widened = HalfOps.widen(half); NDArray javaWidened = file.load(name, manager)) {
                    assertEquals(DataType.FLOAT32, widened.getDataType());
                    assertArrayEquals(bitsOf(javaWidened.toFloatArray()), bitsOf(widened.toFloatArray()),
                            name + ": the file's values exactly, -0 and infinities included");
                }
                half.close();
            }
        }
    }

    @Test
    void float32IsRoundedToNearestEvenOnce() throws Exception {
        float[] values = {1f, 1.00390625f /* halfway 1 and 1+2^-7: to even, 1 */, 1.01171875f /* halfway: to 1.015625 */,
                -3.3333333f, 65504f, 1e-30f};
        try (NDArray x = manager.create(values); HalfTensor bf16 = HalfOps.cast(x, HalfType.BFLOAT16);
                NDArray back = HalfOps.widen(bf16); HalfTensor fp16 = HalfOps.cast(x, HalfType.FLOAT16);
                NDArray fp16Back = HalfOps.widen(fp16); NDArray rounded = HalfOps.round(x, HalfType.BFLOAT16)) {
            float[] expected = new float[values.length];
            for (int i = 0; i < values.length; i++) {
                expected[i] = roundToBfloat16(values[i]);
            }
            assertArrayEquals(expected, back.toFloatArray(), 0f);
            assertArrayEquals(expected, rounded.toFloatArray(), 0f, "round() is cast then widen, in one call");
            float[] halves = fp16Back.toFloatArray();
            assertEquals(65504f, halves[4], "float16's largest finite value survives");
            assertEquals(0f, halves[5], "float16 underflows 1e-30 to zero");
            assertEquals(-3.3339844f, halves[3]);
        }
    }

    @Test
    void linearMatchesRoundedFloat32ArithmeticForOneRowAndMany() {
        // one row runs the half GEMM, several rows the float32 GEMM on the upcast weight: both must be the
        // correctly rounded half result, here exactly, because every product and sum is exact in float32
        float[] w = {0.5f, -1.25f, 2f, 0.125f, 3f, -0.75f}; // [2, 3], exact in bf16
        try (NDArray wf = manager.create(w, new Shape(2, 3)); HalfTensor weight = HalfOps.cast(wf, HalfType.BFLOAT16);
                NDArray bf = manager.create(new float[] {0.1f, -0.2f}); HalfTensor bias = HalfOps.cast(bf, HalfType.BFLOAT16)) {
            float[] x = {1.0f, 2.0f, 3.00390625f /* rounds to 3 in bf16 */, -1f, 0.5f, 4f};
            for (int rows : new int[] {1, 2}) {
                try (NDArray in = manager.create(java.util.Arrays.copyOf(x, 3 * rows), new Shape(rows, 3));
                        NDArray y = HalfOps.linear(in, weight, bias)) {
                    assertEquals(DataType.FLOAT32, y.getDataType());
                    float[] out = y.toFloatArray();
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < 2; o++) {
                            float sum = 0;
                            for (int i = 0; i < 3; i++) {
                                sum += roundToBfloat16(x[r * 3 + i]) * w[o * 3 + i];
                            }
                            float expected = roundToBfloat16(sum + roundToBfloat16(o == 0 ? 0.1f : -0.2f));
                            assertEquals(expected, out[r * 2 + o], 0f, rows + " rows, row " + r + " out " + o);
                        }
                    }
                }
            }
        }
    }

    @Test
    void float32CheckpointTensorsAreRoundedOnceAcrossChunks() throws Exception {
        try (SafetensorsFile file = SafetensorsFile.open(SafetensorsFileTest.fixture("python-mixed.safetensors"));
                HalfTensor half = file.loadHalf("f32", manager, HalfType.BFLOAT16); NDArray back = HalfOps.widen(half);
                NDArray exact = file.load("f32", manager)) {
            float[] values = exact.toFloatArray();
            for (int i = 0; i < values.length; i++) {
                values[i] = roundToBfloat16(values[i]);
            }
            assertArrayEquals(values, back.toFloatArray(), 0f);
            assertArrayEquals(new long[] {2, 3}, back.getShape().getShape());
        }
    }

    @Test
    void aBuilderRefusesTooManyOrTooFewElements() {
        try (NDArray three = manager.create(new float[] {1f, 2f, 3f})) {
            HalfOps.Builder builder = new HalfOps.Builder(manager, new Shape(2, 2), HalfType.FLOAT16);
            builder.append(three);
            assertThrows(IllegalArgumentException.class, () -> builder.append(three));
            assertThrows(IllegalStateException.class, builder::build);
        }
    }

    @Test
    void toStringNeverReadsTheValues() throws Exception {
        try (NDArray x = manager.create(new float[] {1f, 2f}); HalfTensor half = HalfOps.cast(x, HalfType.BFLOAT16)) {
            assertEquals("HalfTensor(BFLOAT16, (2))", half.toString());
            assertEquals(2, half.size());
            assertEquals(Device.cpu(), half.device());
        }
    }

    /** Round to nearest even at bf16 precision, in Java (NaN aside). */
    static float roundToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xffff0000);
    }

    private static int[] bitsOf(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }
}
