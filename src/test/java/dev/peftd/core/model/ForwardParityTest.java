package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.tensor.SafetensorsFile;
import java.nio.file.Path;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Every tiny fixture's logits against what transformers computed for the same input (reference.safetensors). */
class ForwardParityTest {

    private static final double TOLERANCE = 1e-4;
    @AutoClose
    private static final NDManager manager = NDManager.newBaseManager(Device.cpu());

    @ParameterizedTest
    @FieldSource("dev.peftd.core.model.TestModels#WITH_REFERENCE_LOGITS")
    void logitsMatchTransformersAtEveryPosition(String fixture) throws Exception {
        Path dir = TestModels.tiny(fixture);
        try (CausalLm model = ModelLoader.load(dir, Device.cpu());
                SafetensorsFile reference = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            NDArray ids = reference.load("input_ids", manager); // [2, 12]
            NDArray expected = reference.load("logits", manager); // [2, 12, vocab]
            NDArray logits = model.forward(ids, null, null);
            assertArrayEquals(expected.getShape().getShape(), logits.getShape().getShape());
            double maxDiff = logits.sub(expected).abs().max().getFloat();
            System.out.printf("%s: max |Δlogits| vs transformers = %.3g (max |logit| %.2f)%n", fixture, maxDiff,
                    expected.abs().max().getFloat());
            assertTrue(maxDiff <= TOLERANCE, fixture + ": max |Δlogits| " + maxDiff);
        }
    }
}
