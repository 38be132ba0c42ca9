package dev.peftd.core.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Arrays;
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
        // one row runs the half GEMM, several rows the half GEMM or the float32 GEMM on the upcast weight: each must
        // be the correctly rounded half result, here exactly, because every product and sum is exact in float32
        float[] w = {0.5f, -1.25f, 2f, 0.125f, 3f, -0.75f}; // [2, 3], exact in bf16
        try (NDArray wf = manager.create(w, new Shape(2, 3)); HalfTensor weight = HalfOps.cast(wf, HalfType.BFLOAT16);
                NDArray bf = manager.create(new float[] {0.1f, -0.2f}); HalfTensor bias = HalfOps.cast(bf, HalfType.BFLOAT16)) {
            float[] x = {1.0f, 2.0f, 3.00390625f /* rounds to 3 in bf16 */, -1f, 0.5f, 4f};
            for (int rows : new int[] {1, 2}) {
              for (HalfGemm gemm : HalfGemm.values()) {
                try (NDArray in = manager.create(java.util.Arrays.copyOf(x, 3 * rows), new Shape(rows, 3));
                        NDArray y = HalfOps.linear(in, weight, bias, gemm)) {
                    assertEquals(DataType.FLOAT32, y.getDataType());
                    float[] out = y.toFloatArray();
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < 2; o++) {
                            float sum = 0;
                            for (int i = 0; i < 3; i++) {
                                sum += roundToBfloat16(x[r * 3 + i]) * w[o * 3 + i];
                            }
                            float expected = roundToBfloat16(sum + roundToBfloat16(o == 0 ? 0.1f : -0.2f));
                            assertEquals(expected, out[r * 2 + o], 0f, gemm + ", " + rows + " rows, row " + r + " out " + o);
                        }
                    }
                }
              }
            }
        }
    }

    @Test
    void manyRowsAndTheInputGradientMatchAutogradThroughTheHalfGemm() {
        // a 9,000-row weight: the upcast paths work in blocks of 4,096 rows, the last one partial
        for (HalfType type : HalfType.values()) {
            try (NDManager scope = manager.newSubManager();
                    HalfTensor weight = HalfOps.cast(scope.randomNormal(0, 0.1f, new Shape(9000, 24), DataType.FLOAT32), type)) {
                NDArray x = scope.create(HalfOps.round(scope.randomNormal(new Shape(5, 24)), type).toFloatArray(),
                        new Shape(5, 24)); // [5, 24], half values in a plain (not inference-mode) array
                NDArray g = scope.randomNormal(0, 1e-3f, new Shape(5, 9000), DataType.FLOAT32); // [5, 9000]
                NDArray upcast = HalfOps.linear(x, weight, null, HalfGemm.UPCAST); // float32 GEMM on upcast blocks
                NDArray nativeGemm = HalfOps.linear(x, weight, null, HalfGemm.NATIVE); // no gradient, the half GEMM
                x.setRequiresGradient(true);
                float[] halfGemm;
                float[] autogradInputGradient;
                JniUtils.setGradMode(true);
                try {
                    NDArray y = HalfOps.linear(x, weight, null); // [5, 9000], through autograd: the half GEMM
                    halfGemm = y.toFloatArray();
                    JniUtils.backward((PtNDArray) y,
                            (PtNDArray) g, false, false);
                    autogradInputGradient = x.getGradient().toFloatArray();
                } finally {
                    JniUtils.setGradMode(false);
                }
                float[] direct = HalfOps.linearInputGradient(g, weight, HalfGemm.UPCAST).toFloatArray(); // [5, 24]
                float[] directNative = HalfOps.linearInputGradient(g, weight, HalfGemm.NATIVE).toFloatArray(); // [5, 24]
                float[] logitTerms = absoluteProducts(x, HalfOps.widen(weight).transpose()); // [5, 9000]
                float[] gradientTerms = absoluteProducts(g, HalfOps.widen(weight));          // [5, 24]
                assertWithinOneUlp(type, halfGemm, upcast.toFloatArray(), logitTerms, 24, type + " logits");
                assertArrayEquals(halfGemm, nativeGemm.toFloatArray(), type + " logits, native GEMM without gradient");
                assertWithinOneUlp(type, autogradInputGradient, direct, gradientTerms, 9000, type + " input gradient");
                assertArrayEquals(autogradInputGradient, directNative, type + " input gradient, native GEMM");
                try (NDArray row = g.get("0:1")) {
                    float[] oneRow = HalfOps.linearInputGradient(row, weight).toFloatArray(); // the half GEMM
                    assertWithinOneUlp(type, Arrays.copyOf(autogradInputGradient, 24), oneRow,
                            Arrays.copyOf(gradientTerms, 24), 9000,
                            type + " one row");
                }
            }
        }
    }

    /**
     * Same values up to summation order: each element one rounding of the half type apart at most, once the two float32
     * accumulations agree, which they do to within {@code n·2⁻²⁴·Σ|aᵢbᵢ|} for n terms (the classic bound; it matters
     * only where terms cancel to a result far smaller than they are, which random data hits now and then), and most
     * elements exactly equal.
     *
     * @param terms {@code Σ|aᵢbᵢ|} per element
     */
    private static void assertWithinOneUlp(HalfType type, float[] expected, float[] actual, float[] terms, int n,
            String what) {
        assertEquals(expected.length, actual.length, what);
        int mantissaBits = type == HalfType.BFLOAT16 ? 7 : 10;
        int equal = 0;
        for (int i = 0; i < expected.length; i++) {
            // float16's subnormals (below 2^-14) are spaced 2^-24 apart whatever their size
            float ulp = Math.max(Math.max(Math.ulp(expected[i]), Math.ulp(actual[i])) * (1 << (23 - mantissaBits)),
                    type == HalfType.FLOAT16 ? 0x1p-24f : 0f);
            float accumulation = n * 0x1p-24f * terms[i];
            assertEquals(expected[i], actual[i], ulp + accumulation, what + " [" + i + "]");
            equal += expected[i] == actual[i] ? 1 : 0;
        }
        assertThat(equal).as(what + ": exactly equal elements")
                .isGreaterThan(expected.length * 9 / 10);
    }

    /** {@code |a|·|b|}: each product's sum of absolute terms, row-major. */
    private static float[] absoluteProducts(NDArray a, NDArray b) {
        return a.abs().matMul(b.abs()).toFloatArray();
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

    @Test
    void kvRowsAreRoundedIntoHalfPagesInPlaceAndReadBackWidened() {
        for (HalfType type : HalfType.values()) {
            try (NDManager scope = manager.newSubManager()) {
                HalfTensor keyPages = HalfOps.storage(scope, new Shape(6, 4), 6, type); // [N, H·D], H = D = 2
                HalfTensor valuePages = HalfOps.storage(scope, new Shape(6, 4), 6, type);
                assertEquals(new Shape(6, 4), keyPages.shape());
                assertEquals(48, keyPages.bytes(), "2 bytes a value");
                assertArrayEquals(new float[24], HalfOps.widen(keyPages).toFloatArray(), 0f, "zeros, not garbage");
                try (HalfTensor padded = HalfOps.storage(scope, new Shape(6, 4), 2, type)) {
                    float[] rows = HalfOps.widen(padded).toFloatArray();
                    assertArrayEquals(new float[8], java.util.Arrays.copyOf(rows, 8), 0f, "the zero rows come first");
                }

                // [B = 2, H = 2, T = 1, D = 2]: not half values, so each write rounds
                NDArray k = scope.randomNormal(new Shape(2, 2, 1, 2));
                NDArray v = scope.randomNormal(new Shape(2, 2, 1, 2));
                HalfOps.writeRows(keyPages, valuePages, scope.create(new long[] {4, 1}), k, v);
                float[] pages = HalfOps.widen(keyPages).toFloatArray();
                float[] rounded = HalfOps.round(k, type).toFloatArray(); // [b, h, 0, d] at b·4 + h·2 + d
                for (int b = 0; b < 2; b++) {
                    int row = b == 0 ? 4 : 1;
                    for (int hd = 0; hd < 4; hd++) { // row layout [h, d]: the same order as [b, h, 0, d]
                        assertEquals(rounded[b * 4 + hd], pages[row * 4 + hd], 0f, type + " row " + row);
                    }
                }
                assertEquals(0f, pages[0], "rows not written stay zero");

                NDArray k2 = scope.randomNormal(new Shape(2, 2, 1, 2));
                NDArray v2 = scope.randomNormal(new Shape(2, 2, 1, 2));
                // row 0 writes position 1 to page row 2, row 1 to page row 5; each reads its two positions back
                ai.djl.ndarray.NDList read = HalfOps.exchangeRows(keyPages, valuePages, scope.create(new long[] {2, 5}),
                        scope.create(new long[] {4, 2, 1, 5}), k2, v2);
                NDArray keys = read.get(0); // [B, H, S = 2, D]
                assertEquals(new Shape(2, 2, 2, 2), keys.getShape());
                assertEquals(DataType.FLOAT32, keys.getDataType());
                NDArray expectedKeys = HalfOps.round(k, type).concat(HalfOps.round(k2, type), 2);
                NDArray expectedValues = HalfOps.round(v, type).concat(HalfOps.round(v2, type), 2);
                assertArrayEquals(expectedKeys.toFloatArray(), keys.toFloatArray(), 0f, type + ": keys back, in order");
                assertArrayEquals(expectedValues.toFloatArray(), read.get(1).toFloatArray(), 0f, type + ": values");
            }
        }
    }

    @Test
    void appendConcatenatesAlongThePositionsInTheHalfTypeAndGivesThemWidened() {
        for (HalfType type : HalfType.values()) {
            try (NDManager scope = manager.newSubManager(); NDManager owner = manager.newSubManager()) {
                NDArray k1 = scope.randomNormal(new Shape(1, 2, 2, 3)); // [B, H, T, D]
                NDArray v1 = scope.randomNormal(new Shape(1, 2, 2, 3));
                NDArray k2 = scope.randomNormal(new Shape(1, 2, 1, 3));
                NDArray v2 = scope.randomNormal(new Shape(1, 2, 1, 3));
                HalfOps.Appended first = HalfOps.append(null, null, k1, v1, type, owner);
                assertEquals(new Shape(1, 2, 2, 3), first.keys().shape());
                assertEquals(type, first.keys().type());
                assertArrayEquals(HalfOps.round(k1, type).toFloatArray(), first.allKeys().toFloatArray(), 0f);
                HalfOps.Appended second = HalfOps.append(first.keys(), first.values(), k2, v2, type, owner);
                assertEquals(new Shape(1, 2, 3, 3), second.keys().shape());
                assertEquals(36, second.values().bytes());
                assertArrayEquals(HalfOps.round(k1, type).concat(HalfOps.round(k2, type), 2).toFloatArray(),
                        second.allKeys().toFloatArray(), 0f, type + ": the cached keys, then the new");
                assertArrayEquals(HalfOps.round(v1, type).concat(HalfOps.round(v2, type), 2).toFloatArray(),
                        second.allValues().toFloatArray(), 0f);
                assertArrayEquals(HalfOps.widen(second.keys()).toFloatArray(), second.allKeys().toFloatArray(), 0f,
                        "what is kept is what is given");
            }
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
