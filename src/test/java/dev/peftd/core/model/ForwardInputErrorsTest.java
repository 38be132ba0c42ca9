package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Bad forward calls fail in Java with a reason, before native code can fail opaquely or compute something wrong. */
class ForwardInputErrorsTest {

    @TempDir
    Path temp;

    @Test
    void idsOutsideTheVocabularyOrOfTheWrongShape() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
                NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            assertMessage("token id 384 is outside the vocabulary of 384 tokens",
                    () -> model.forward(manager.create(new long[] {1, 384}, new Shape(1, 2)), null, null));
            assertMessage("token id -1 is outside",
                    () -> model.forward(manager.create(new long[] {-1, 3}, new Shape(1, 2)), null, null));
            assertMessage("must have shape [batch, length]",
                    () -> model.forward(manager.create(new long[] {1, 2, 3}), null, null));
            assertMessage("must be integers",
                    () -> model.forward(manager.create(new float[] {1, 2}, new Shape(1, 2)), null, null));
            // int32 ids are accepted and give the same logits as int64
            assertEquals(model.forward(manager.create(new long[] {1, 5, 7}, new Shape(1, 3)), null, null),
                    model.forward(manager.create(new int[] {1, 5, 7}, new Shape(1, 3)), null, null));
        }
    }

    @Test
    void cacheFromAnotherModelIsRejected() throws Exception {
        try (CausalLm llama = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
                CausalLm gpt2 = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu());
                NDManager manager = NDManager.newBaseManager(Device.cpu());
                KvCache foreign = new KvCache() {
                    @Override
                    public int length() {
                        return 0;
                    }

                    @Override
                    public void close() {
                    }
                }) {
            assertMessage("not made by this model's newCache()",
                    () -> gpt2.forward(manager.create(new long[] {1}, new Shape(1, 1)), foreign, null));
            try (KvCache llamaCache = llama.newCache()) { // same layer count, other model
                assertMessage("not made by this model's newCache()",
                        () -> gpt2.forward(manager.create(new long[] {1}, new Shape(1, 1)), llamaCache, null));
                llama.forward(manager.create(new long[] {1, 2}, new Shape(2, 1)), llamaCache, null).close();
                assertMessage("this KV cache holds a batch of 2 sequences; the input ids have 1",
                        () -> llama.forward(manager.create(new long[] {1}, new Shape(1, 1)), llamaCache, null));
            }
        }
    }

    @Test
    void gpt2RefusesPositionsBeyondItsLearnedTable() throws Exception {
        try (CausalLm gpt2 = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu());
                NDManager manager = NDManager.newBaseManager(Device.cpu());
                KvCache cache = gpt2.newCache()) {
            gpt2.forward(manager.create(new long[64], new Shape(1, 64)), cache, null).close();
            assertMessage("sequence of 65 positions exceeds GPT-2's 64 learned positions",
                    () -> gpt2.forward(manager.create(new long[] {1}, new Shape(1, 1)), cache, null));
        }
    }

    @Test
    void mistralRefusesSequencesLongerThanItsSlidingWindow() throws Exception {
        Path dir = temp.resolve("windowed-mistral");
        Files.createDirectories(dir);
        Files.copy(TestModels.tinyMistral().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), Files.readString(TestModels.tinyMistral().resolve("config.json"))
                .replace("\"sliding_window\": null", "\"sliding_window\": 8"));
        try (CausalLm mistral = ModelLoader.load(dir, Device.cpu());
                NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            assertEquals(8, mistral.config().slidingWindow());
            mistral.forward(manager.create(new long[8], new Shape(1, 8)), null, null).close();
            assertMessage("sequence of 9 positions exceeds the sliding window of 8",
                    () -> mistral.forward(manager.create(new long[9], new Shape(1, 9)), null, null));
        }
    }

    private static void assertMessage(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
