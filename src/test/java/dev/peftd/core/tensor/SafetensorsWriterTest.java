package dev.peftd.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer against Python's own output, byte for byte, and a round trip through the reader. */
class SafetensorsWriterTest {

    @AutoClose
    private static final NDManager manager = NDManager.newBaseManager(Device.cpu());

    @TempDir
    Path temp;

    @Test
    void writesTheBytesPythonWrites() throws Exception {
        // the same tensors make_model_fixtures.py saves into python-writer-reference.safetensors, in another order
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("a_vector", manager.create(new float[] {1, 2, 3}));
        tensors.put("counts", manager.create(new int[] {1, 2}));
        tensors.put("half", manager.create(new float[] {0.5f, -1, 2, 1024}, new Shape(2, 2)).toType(DataType.FLOAT16, false));
        tensors.put("ids", manager.create(new long[] {5, -6, 7}));
        float[] weight = new float[12];
        for (int i = 0; i < weight.length; i++) {
            weight[i] = i / 8f - 0.75f;
        }
        tensors.put("model.layers.0.weight", manager.create(weight, new Shape(3, 4)));
        Path written = temp.resolve("java.safetensors");
        SafetensorsWriter.write(written, tensors, Map.of("format", "pt"));
        byte[] python = Files.readAllBytes(SafetensorsFileTest.fixture("python-writer-reference.safetensors"));
        assertArrayEquals(python, Files.readAllBytes(written));
    }

    @Test
    void roundTripKeepsEveryBit() throws Exception {
        Random random = new Random(7);
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian() * 1e3f;
        }
        values[0] = Float.NaN;
        values[1] = -0.0f;
        values[2] = Float.MIN_VALUE;
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                manager.create(values, new Shape(10, 100)));
        tensors.put("ids", manager.create(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}));
        tensors.put("empty", manager.create(new float[0], new Shape(0, 4)));
        tensors.put("quote\"and\\slash ü", manager.create(new int[] {42}));
        Path file = temp.resolve("round-trip.safetensors");
        SafetensorsWriter.write(file, tensors, Map.of("format", "pt", "peftd", "yes"));
        try (SafetensorsFile read = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt", "peftd", "yes"), read.metadata());
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                NDArray back = read.load(e.getKey(), manager);
                assertEquals(e.getValue().getShape(), back.getShape(), e.getKey());
                assertEquals(e.getValue().getDataType(), back.getDataType(), e.getKey());
                assertArrayEquals(e.getValue().toByteArray(), back.toByteArray(), e.getKey());
            }
        }
        try (var files = Files.list(temp)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }
}
