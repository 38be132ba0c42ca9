package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import dev.peftd.core.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An uploaded adapter is checked against its base; a mismatch names the first offending tensor or field. */
class AdapterValidatorTest {

    private static final String BAD_KEY = "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight";
    private static ServingFixtures serving;

    @BeforeAll
    static void start() {
        serving = new ServingFixtures();
    }

    @AfterAll
    static void stop() {
        serving.close();
    }

    @Test
    void peftLoraAndVeraFitTheirBase() throws IOException {
        LoadedBase llama = serving.engine.bases().get(TestModels.tinyLlama());
        AdapterValidator.Summary lora = AdapterValidator.validate(ServingFixtures.adapterDir("llama-lora"), llama);
        assertEquals("lora", lora.method());
        assertEquals(4, lora.rank()); // r=4, down_proj 2 by rank_pattern
        assertEquals(14, lora.modules().size()); // 7 projections x 2 layers
        AdapterValidator.Summary vera = AdapterValidator.validate(ServingFixtures.adapterDir("llama-vera"), llama);
        assertEquals("vera", vera.method());
        assertEquals(8, vera.rank());
    }

    @Test
    void aWronglyShapedTensorIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
                for (String name : file.names()) {
                    NDArray t = file.load(name, manager);
                    tensors.put(name, name.equals(BAD_KEY) ? t.get(":, :-1") : t); // one input column short
                }
            }
            SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        }
        LoadedBase llama = serving.engine.bases().get(TestModels.tinyLlama());
        AdapterMismatchException e = assertThrows(AdapterMismatchException.class,
                () -> AdapterValidator.validate(dir, llama));
        assertEquals(BAD_KEY, e.offending());
        assertTrue(e.getMessage().contains("shape"), e.getMessage());
    }

    @Test
    void anAdapterForAnotherArchitectureIsNamed() {
        LoadedBase mistral = serving.engine.bases().get(TestModels.tinyMistral()); // head_dim 32: q/k/v/o differ
        AdapterMismatchException e = assertThrows(AdapterMismatchException.class,
                () -> AdapterValidator.validate(ServingFixtures.adapterDir("llama-lora"), mistral));
        assertTrue(e.offending().startsWith("base_model.model.model.layers.0."), e.offending());
        LoadedBase llama = serving.engine.bases().get(TestModels.tinyLlama());
        AdapterMismatchException gpt2 = assertThrows(AdapterMismatchException.class,
                () -> AdapterValidator.validate(ServingFixtures.adapterDir("gpt2-lora"), llama));
        assertEquals("target_modules", gpt2.offending());
    }

    @Test
    void nonFiniteWeightsAreNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
                for (String name : file.names()) {
                    NDArray t = file.load(name, manager);
                    tensors.put(name, name.equals(BAD_KEY) ? t.mul(manager.create(Float.NaN)) : t);
                }
            }
            SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        }
        LoadedBase llama = serving.engine.bases().get(TestModels.tinyLlama());
        AdapterMismatchException e = assertThrows(AdapterMismatchException.class,
                () -> AdapterValidator.validate(dir, llama));
        assertEquals("model.layers.1.self_attn.v_proj", e.offending());
    }

    private static Path copyOf(String fixture, Path tmp) throws IOException {
        Path dir = tmp.resolve(fixture);
        Files.createDirectories(dir);
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors"}) {
            Files.copy(ServingFixtures.adapterDir(fixture).resolve(f), dir.resolve(f));
        }
        return dir;
    }
}
