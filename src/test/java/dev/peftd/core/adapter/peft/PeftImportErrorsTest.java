package dev.peftd.core.adapter.peft;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.AdapterConfigException;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What peftd cannot reproduce exactly is refused with the field or tensor named, never silently dropped. */
class PeftImportErrorsTest {

    private static CausalLm llama;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws Exception {
        llama = ModelLoader.load(TestModels.tinyLlama());
    }

    @AfterAll
    static void close() {
        llama.close();
    }

    /** A copy of the llama-lora fixture with its config edited and extra / replaced tensors. */
    private Path variant(String configEdit, Map<String, float[]> extraTensors, long[] shape) throws Exception {
        Path src = AdapterFixtures.dir("llama-lora");
        String config = Files.readString(src.resolve(PeftConfigJson.FILE));
        for (String edit : configEdit.split(";")) {
            if (!edit.isBlank()) {
                String[] kv = edit.split("=", 2);
                config = config.replaceFirst("\"" + kv[0] + "\": [^,\\n]*", "\"" + kv[0] + "\": " + kv[1]);
            }
        }
        Files.writeString(dir.resolve(PeftConfigJson.FILE), config);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>(
                    AdapterFixtures.load(src.resolve(PeftExporter.WEIGHTS_FILE), m));
            extraTensors.forEach((k, v) -> {
                if (v == null) {
                    tensors.remove(k);
                } else {
                    tensors.put(k, m.create(v, new ai.djl.ndarray.types.Shape(shape)));
                }
            });
            SafetensorsWriter.write(dir.resolve(PeftExporter.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        }
        return dir;
    }

    @Test
    void unsupportedFeaturesAreRefusedByName() throws Exception {
        for (String[] c : new String[][] {{"use_dora=true", "use_dora"}, {"lora_bias=true", "lora_bias"},
                {"bias=\"all\"", "bias"}, {"modules_to_save=[\"lm_head\"]", "modules_to_save"},
                {"layers_to_transform=[0]", "layers_to_transform"}, {"peft_type=\"IA3\"", "peft_type"},
                {"r=0", "r"}, {"lora_alpha=\"x\"", "lora_alpha"}}) {
            Path d = variant(c[0], Map.of(), null);
            assertThatThrownBy(() -> PeftImporter.load(d, llama.linears())).as(c[0])
                    .isInstanceOf(AdapterConfigException.class)
                    .hasMessageStartingWith("adapter_config.json " + c[1] + ":");
        }
    }

    @Test
    void missingWrongShapedOrForeignTensorsAreNamed() throws Exception {
        String q = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
        Path missing = variant("", java.util.Collections.singletonMap(q, null), null);
        assertThatThrownBy(() -> PeftImporter.load(missing, llama.linears()))
                .hasMessageContaining(q).hasMessageContaining("missing");
        Path wrong = variant("", Map.of(q, new float[3 * 64]), new long[] {3, 64});
        assertThatThrownBy(() -> PeftImporter.load(wrong, llama.linears()))
                .hasMessageContaining(q).hasMessageContaining("(4, 64)");
        String embedding = "base_model.model.model.embed_tokens.lora_embedding_A";
        Path foreign = variant("", Map.of(embedding, new float[4 * 384]), new long[] {4, 384});
        assertThatThrownBy(() -> PeftImporter.load(foreign, llama.linears()))
                .hasMessageContaining(embedding).hasMessageContaining("does not belong");
        Files.delete(dir.resolve(PeftExporter.WEIGHTS_FILE));
        assertThatThrownBy(() -> PeftImporter.load(dir, llama.linears()))
                .hasMessageContaining("adapter_model.safetensors");
    }
}
