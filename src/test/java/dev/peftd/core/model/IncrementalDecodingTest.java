package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.peftd.core.tensor.SafetensorsFile;
import java.nio.file.Path;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Decoding with the KV cache (a prefill, single tokens, then a multi-token chunk) equals one full forward. */
class IncrementalDecodingTest {

    @AutoClose
    private static final NDManager manager = NDManager.newBaseManager(Device.cpu());

    @ParameterizedTest
    @FieldSource("dev.peftd.core.model.TestModels#WITH_REFERENCE_LOGITS")
    void cachedChunksEqualTheFullForward(String fixture) throws Exception {
        Path dir = TestModels.tiny(fixture);
        try (CausalLm model = ModelLoader.load(dir, Device.cpu());
                SafetensorsFile reference = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                KvCache cache = model.newCache()) {
            NDArray ids = reference.load("input_ids", manager); // [2, 12]
            NDArray full = model.forward(ids, null, null); // [2, 12, vocab]
            int[][] chunks = {{0, 5}, {5, 6}, {6, 7}, {7, 8}, {8, 12}};
            NDList pieces = new NDList();
            for (int[] chunk : chunks) {
                assertEquals(chunk[0], cache.length());
                pieces.add(model.forward(ids.get(new NDIndex(":, {}:{}", chunk[0], chunk[1])), cache, null));
            }
            assertEquals(12, cache.length());
            NDArray incremental = NDArrays.concat(pieces, 1); // [2, 12, vocab]
            double maxDiff = incremental.sub(full).abs().max().getFloat();
            System.out.printf("%s: max |Δlogits| cached vs full = %.3g%n", fixture, maxDiff);
            assertTrue(maxDiff <= 1e-5, fixture + ": cached decoding differs by " + maxDiff);
        }
    }
}
