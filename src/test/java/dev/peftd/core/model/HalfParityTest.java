package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.peftd.core.tensor.SafetensorsFile;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Half-precision models against transformers' own half models, same dtype on both sides
 * (fixtures/half, tools/reference/make_half_fixtures.py).
 *
 * <p>Tolerance: mean |Δlogits| ≤ 1e-2 and argmax agreement ≥ 0.95 (the dtype tolerance); and the half forward
 * must be closer to transformers' half logits than transformers' own float32 logits are (by a quarter at least), so
 * that a forward pass that silently ran in float32 fails. Measured: 0.33–0.67 of the float32 distance, mean |Δ|
 * 2.4e-3–6.0e-3 in bf16 and 5.5e-4–1.1e-3 in fp16; for scale, transformers' own bf16 eager and sdpa attention
 * differ by 9.1e-3 mean on tiny-llama.
 */
class HalfParityTest {

    private static final double MEAN_TOLERANCE = 1e-2;
    private static final double ARGMAX_AGREEMENT = 0.95;
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    static List<Object[]> cases() {
        List<Object[]> cases = new java.util.ArrayList<>();
        for (String name : List.of("tiny-llama", "tiny-qwen2", "tiny-mistral", "tiny-llama-bias", "tiny-gpt2")) {
            for (ModelDtype dtype : List.of(ModelDtype.BFLOAT16, ModelDtype.FLOAT16)) {
                cases.add(new Object[] {name, dtype});
            }
        }
        return cases;
    }

    static Path half(String name) throws URISyntaxException {
        return Path.of(HalfParityTest.class.getClassLoader().getResource("fixtures/half/" + name).toURI());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void logitsMatchTransformersInTheSameDtype(String name, ModelDtype dtype) throws Exception {
        Path dir = TestModels.tiny(name);
        compare(dir, dtype, half(name + "-" + dtype + ".safetensors"), dir.resolve("reference.safetensors"));
    }

    /** An F16 checkpoint read as it is stored (auto takes it only where the device computes fp16: ModelLoaderTest). */
    @Test
    void aFloat16CheckpointLoadsAsFloat16() throws Exception {
        Path dir = half("tiny-llama-float16");
        compare(dir, ModelDtype.FLOAT16, dir.resolve("reference-float16.safetensors"),
                TestModels.tinyLlama().resolve("reference.safetensors"));
    }

    @Test
    void gpt2KeepsEveryFloatingTensorHalfAndAutoOnAFloat32CheckpointStaysFloat32() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu(), ModelDtype.BFLOAT16)) {
            assertTrue(model.linears().values().stream().allMatch(Linear::halfPrecision));
            Linear cAttn = model.linears().get("transformer.h.0.attn.c_attn");
            assertTrue(cAttn.hasBias());
            assertArrayEquals(new long[] {192, 64}, cAttn.weightShape().getShape(), "Conv1D [in, out] held as [out, in]");
        }
        try (CausalLm model = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu(), ModelDtype.AUTO)) {
            assertTrue(model.linears().values().stream().noneMatch(Linear::halfPrecision));
        }
    }

    @Test
    void halfLinearsHandOutNoFloat32Weight() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyQwen2(), Device.cpu(), ModelDtype.BFLOAT16)) {
            Linear q = model.linears().get("model.layers.0.self_attn.q_proj");
            assertTrue(q.halfPrecision(), "tiny-qwen2 is stored as bf16 and loaded as bf16");
            assertTrue(q.hasBias());
            assertEquals(q.weightShape().size() + q.outFeatures(), q.parameterCount());
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, q::weight);
            assertTrue(e.getMessage().contains("bfloat16"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void cachedChunksAndDecodeStepsTrackTheHalfReference(String name, ModelDtype dtype) throws Exception {
        // chunks after cached keys take the float32-softmax path, single steps the half SDPA: both must stay
        // within the same tolerance of transformers' half logits as the one-shot forward
        Path dir = TestModels.tiny(name);
        try (CausalLm model = ModelLoader.load(dir, Device.cpu(), dtype);
                SafetensorsFile reference = SafetensorsFile.open(half(name + "-" + dtype + ".safetensors"));
                KvCache cache = model.newCache()) {
            NDArray ids = reference.load("input_ids", manager); // [2, 12]
            NDArray expected = reference.load("logits", manager);
            int[][] chunks = {{0, 5}, {5, 6}, {6, 7}, {7, 10}, {10, 11}, {11, 12}};
            NDList pieces = new NDList();
            for (int[] chunk : chunks) {
                pieces.add(model.forward(ids.get(new NDIndex(":, {}:{}", chunk[0], chunk[1])), cache, null));
            }
            double mean = NDArrays.concat(pieces, 1).sub(expected).abs().mean().getFloat();
            System.out.printf("%s %s cached: mean |Δ| %.3g%n", name, dtype, mean);
            assertTrue(mean <= MEAN_TOLERANCE, "mean |Δlogits| " + mean);
        }
    }

    private static void compare(Path dir, ModelDtype dtype, Path halfReference, Path float32Reference) throws Exception {
        try (CausalLm model = ModelLoader.load(dir, Device.cpu(), dtype);
                SafetensorsFile reference = SafetensorsFile.open(halfReference);
                SafetensorsFile float32 = SafetensorsFile.open(float32Reference)) {
            NDArray ids = reference.load("input_ids", manager); // [2, 12]
            NDArray expected = reference.load("logits", manager); // [2, 12, vocab], half values
            NDArray logits = model.forward(ids, null, null);
            assertArrayEquals(expected.getShape().getShape(), logits.getShape().getShape());
            double mean = logits.sub(expected).abs().mean().getFloat();
            double max = logits.sub(expected).abs().max().getFloat();
            double float32Mean = float32.load("logits", manager).sub(expected).abs().mean().getFloat();
            long[] ours = logits.argMax(-1).toLongArray();
            long[] theirs = expected.argMax(-1).toLongArray();
            int agree = 0;
            for (int i = 0; i < ours.length; i++) {
                agree += ours[i] == theirs[i] ? 1 : 0;
            }
            double agreement = (double) agree / ours.length;
            System.out.printf("%s %s: mean |Δ| %.3g, max |Δ| %.3g, argmax agreement %.3f; transformers float32 vs %s: mean |Δ| %.3g%n",
                    dir.getFileName(), dtype, mean, max, agreement, dtype, float32Mean);
            assertTrue(mean <= MEAN_TOLERANCE, "mean |Δlogits| " + mean);
            assertTrue(agreement >= ARGMAX_AGREEMENT, "argmax agreement " + agreement);
            assertTrue(mean <= 0.75 * float32Mean, "not closer to the half reference than float32 is: " + mean + " vs " + float32Mean);
        }
    }
}
