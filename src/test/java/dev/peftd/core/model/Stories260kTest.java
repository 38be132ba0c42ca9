package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The real pretrained stories260K Llama: greedy decoding from BOS, with a plain full forward per step (no cache),
 * reproduces the story ../shared/data/README.md quotes. Tokens are decoded with the tokenizer.json vocabulary
 * directly (SentencePiece pieces, '▁' for spaces); the full tokenizer is tested elsewhere.
 */
class Stories260kTest {

    private static final String EXPECTED_START = "Once upon a time, there was a little girl named Lily.";

    @Test
    void greedyStoryFromBos() throws Exception {
        assumeTrue(TestModels.stories260K().isPresent(), "stories260K not found under " + TestModels.sharedData());
        Path dir = TestModels.stories260K().get();
        Map<Integer, String> pieces = vocabulary(dir);
        try (CausalLm model = ModelLoader.load(dir, Device.cpu()); NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            assertEquals("LlamaForCausalLM", model.config().architecture());
            long[] tokens = new long[20];
            tokens[0] = 1; // BOS
            StringBuilder text = new StringBuilder();
            for (int n = 1; n < tokens.length; n++) {
                long[] prefix = Arrays.copyOf(tokens, n);
                NDArray logits = model.forward(manager.create(prefix).reshape(1, n), null, null); // [1, n, vocab]
                tokens[n] = logits.get(new NDIndex("0, -1")).argMax().getLong();
                text.append(pieces.get((int) tokens[n]).replace('▁', ' '));
                logits.close();
            }
            String story = text.toString().strip();
            System.out.println("stories260K greedy: " + story);
            assertTrue(story.startsWith(EXPECTED_START), "greedy text: " + story);
        }
    }

    private static Map<Integer, String> vocabulary(Path dir) throws Exception {
        JsonObject vocab = JsonParser.parseString(Files.readString(dir.resolve("tokenizer.json")))
                .getAsJsonObject().getAsJsonObject("model").getAsJsonObject("vocab");
        Map<Integer, String> byId = new HashMap<>();
        vocab.entrySet().forEach(e -> byId.put(e.getValue().getAsInt(), e.getKey()));
        return byId;
    }
}
