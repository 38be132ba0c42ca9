package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.tensor.HalfGemm;
import dev.peftd.core.tensor.HalfType;
import dev.peftd.core.tensor.SafetensorsCheckpoint;
import dev.peftd.core.tensor.SafetensorsFile;
import dev.peftd.core.tensor.SafetensorsWriter;
import dev.peftd.core.tensor.TensorFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint layouts, the linear-layer map adapters target, and load errors that name the file and the key. */
class ModelLoaderTest {

    @AutoClose
    private static final NDManager manager = NDManager.newBaseManager(Device.cpu());

    @TempDir
    Path temp;

    /**
     * auto is the checkpoint's type where the device computes it natively (a GPU always; a CPU per its flags) and
     * float32 elsewhere; a named type is kept as named. Resolving reads headers only, so a GPU device needs no GPU.
     */
    @Test
    void autoIsTheCheckpointsTypeWhereTheDeviceComputesItElseFloat32() throws Exception {
        Path bf16 = TestModels.tinyQwen2();                        // BF16 files
        Path fp16 = HalfParityTest.half("tiny-llama-float16");     // F16 files
        Path fp32 = TestModels.tinyLlama();
        assertEquals(ModelDtype.BFLOAT16, ModelLoader.resolve(bf16, Device.gpu(), ModelDtype.AUTO));
        assertEquals(ModelDtype.FLOAT16, ModelLoader.resolve(fp16, Device.gpu(), ModelDtype.AUTO));
        assertEquals(ModelDtype.FLOAT32, ModelLoader.resolve(fp32, Device.gpu(), ModelDtype.AUTO));

        ModelDtype bf16OnCpu = onThisCpu(HalfType.BFLOAT16, ModelDtype.BFLOAT16);
        assertEquals(bf16OnCpu, ModelLoader.resolve(bf16, Device.cpu(), ModelDtype.AUTO));
        assertEquals(onThisCpu(HalfType.FLOAT16, ModelDtype.FLOAT16),
                ModelLoader.resolve(fp16, Device.cpu(), ModelDtype.AUTO));
        assertEquals(ModelDtype.FLOAT32, ModelLoader.resolve(fp32, Device.cpu(), ModelDtype.AUTO));
        assertEquals(ModelDtype.FLOAT16, ModelLoader.resolve(bf16, Device.cpu(), ModelDtype.FLOAT16));
        try (CausalLm model = ModelLoader.load(bf16, Device.cpu(), ModelDtype.AUTO)) {
            assertEquals(bf16OnCpu, ModelDtype.of(model.halfType()), "the load keeps what resolve says");
        }
    }

    private static ModelDtype onThisCpu(HalfType type, ModelDtype half) {
        return HalfGemm.on(Device.cpu(), type) == HalfGemm.NATIVE ? half : ModelDtype.FLOAT32;
    }

    @Test
    void linearsUseHfModuleNamesInPeftOrientation() throws Exception {
        try (CausalLm llama = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
                CausalLm qwen = ModelLoader.load(TestModels.tinyQwen2(), Device.cpu());
                CausalLm gpt2 = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu())) {
            Map<String, Linear> l = llama.linears();
            assertEquals(2 * 7 + 1, l.size());
            assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj"),
                    l.keySet().stream().limit(2).toList());
            assertArrayEquals(new long[] {32, 64}, l.get("model.layers.1.self_attn.k_proj").weight().getShape().getShape());
            assertArrayEquals(new long[] {64, 96}, l.get("model.layers.1.mlp.down_proj").weight().getShape().getShape());
            assertEquals(null, l.get("model.layers.0.self_attn.q_proj").bias());

            Map<String, Linear> q = qwen.linears();
            assertArrayEquals(new long[] {16}, q.get("model.layers.0.self_attn.k_proj").bias().getShape().getShape());
            assertEquals(null, q.get("model.layers.0.self_attn.o_proj").bias());

            Map<String, Linear> g = gpt2.linears();
            assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj",
                    "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj"), g.keySet().stream().limit(4).toList());
            Linear cAttn = g.get("transformer.h.0.attn.c_attn");
            assertEquals(64, cAttn.inFeatures());
            assertEquals(192, cAttn.outFeatures());
            assertEquals(256, g.get("transformer.h.1.mlp.c_fc").outFeatures());
        }
    }

    @Test
    void conv1dWeightsAreTransposedAtLoad() throws Exception {
        Path dir = TestModels.tinyGpt2();
        try (CausalLm gpt2 = ModelLoader.load(dir, Device.cpu());
                SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            NDArray stored = checkpoint.load("transformer.h.1.mlp.c_fc.weight", manager); // [in, out]
            NDArray linear = gpt2.linears().get("transformer.h.1.mlp.c_fc").weight(); // [out, in]
            assertEquals(stored.transpose(), linear);
            assertEquals(checkpoint.load("transformer.wte.weight", manager), gpt2.linears().get("lm_head").weight(),
                    "the tied head is the token embedding");
        }
    }

    @Test
    void gpt2WithoutTheTransformerPrefixGivesTheSameLogits() throws Exception {
        Path dir = rewritten(TestModels.tinyGpt2(), tensors -> {
            Map<String, NDArray> renamed = new LinkedHashMap<>();
            tensors.forEach((k, v) -> renamed.put(k.replaceFirst("^transformer\\.", ""), v));
            tensors.clear();
            tensors.putAll(renamed);
        });
        try (CausalLm original = ModelLoader.load(TestModels.tinyGpt2(), Device.cpu());
                CausalLm bare = ModelLoader.load(dir, Device.cpu());
                SafetensorsFile reference = SafetensorsFile.open(TestModels.tinyGpt2().resolve("reference.safetensors"))) {
            NDArray ids = reference.load("input_ids", manager);
            assertEquals(original.forward(ids, null, null), bare.forward(ids, null, null));
            assertEquals(original.linears().keySet(), bare.linears().keySet(), "module names keep the prefix");
        }
    }

    @Test
    void missingTensorNamesTheFileAndTheKey() throws Exception {
        Path dir = rewritten(TestModels.tinyLlama(), t -> t.remove("model.layers.1.mlp.up_proj.weight"));
        IOException e = assertThrows(TensorFileException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains(dir.resolve("model.safetensors").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'model.layers.1.mlp.up_proj.weight': missing"), e.getMessage());
    }

    @Test
    void untiedHeadMustBePresent() throws Exception {
        Path dir = rewritten(TestModels.tinyMistral(), t -> t.remove("lm_head.weight"));
        IOException e = assertThrows(TensorFileException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("'lm_head.weight': missing"), e.getMessage());
    }

    @Test
    void wrongShapeNamesBothShapes() throws Exception {
        Path dir = rewritten(TestModels.tinyQwen2(), t -> t.put("model.layers.0.self_attn.q_proj.bias", manager.zeros(new Shape(65))));
        IOException e = assertThrows(TensorFileException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("'model.layers.0.self_attn.q_proj.bias': has shape [65] but config.json implies [64]"),
                e.getMessage());
    }

    @Test
    void aConfigThatDisagreesWithTheEmbeddingNamesTheConfigKey() throws Exception {
        Path dir = rewritten(TestModels.tinyLlama(), t -> { });
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replaceFirst("\"vocab_size\": *\\d+", "\"vocab_size\": 1000"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertEquals("config.json", e.fileName());
        assertEquals("vocab_size", e.field());
        assertTrue(e.reason().contains("1000 does not match the weights: tensor 'model.embed_tokens.weight' in "
                + "model.safetensors has 384 along dimension 0"), e.getMessage());
    }

    @Test
    void directoryWithoutWeightsSaysSo() throws Exception {
        Path dir = temp.resolve("config-only");
        Files.createDirectories(dir);
        Files.copy(TestModels.tinyLlama().resolve("config.json"), dir.resolve("config.json"));
        IOException e = assertThrows(TensorFileException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("no model.safetensors or model.safetensors.index.json"), e.getMessage());
    }

    @Test
    void missingShardIsNamed() throws Exception {
        Path dir = temp.resolve("gpt2-missing-shard");
        Files.createDirectories(dir);
        try (var files = Files.list(TestModels.tinyGpt2())) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("model-00003-of-00004.safetensors")) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        IOException e = assertThrows(TensorFileException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("model-00003-of-00004.safetensors, which does not exist"), e.getMessage());
    }

    @Test
    void aShardOutsideTheModelFolderIsRefused() throws Exception {
        Path outside = rewritten(TestModels.tinyLlama(), t -> { });
        Path dir = Files.createDirectories(temp.resolve("escaping-index"));
        Files.copy(outside.resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"model.embed_tokens.weight\": \"../"
                + outside.getFileName() + "/model.safetensors\"}}");
        IOException e = assertThrows(TensorFileException.class, () -> ModelLoader.load(dir, Device.cpu()));
        assertTrue(e.getMessage().contains("is not a plain file name next to the index"), e.getMessage());
    }

    /** A copy of a fixture with its weights rewritten into one model.safetensors after {@code edit}. */
    private Path rewritten(Path fixture, Consumer<Map<String, NDArray>> edit) throws IOException {
        Path dir = Files.createTempDirectory(temp, fixture.getFileName().toString());
        Files.copy(fixture.resolve("config.json"), dir.resolve("config.json"));
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(fixture)) {
            for (String key : checkpoint.keys()) {
                tensors.put(key, checkpoint.load(key, manager));
            }
        }
        edit.accept(tensors);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        return dir;
    }
}
