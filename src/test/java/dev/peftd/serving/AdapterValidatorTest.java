package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import dev.peftd.core.tensor.SafetensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An uploaded adapter is checked against its base; a mismatch names the first offending tensor or field. */
class AdapterValidatorTest {

    private static final String BAD_KEY = "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight";

    @AutoClose
    private static final ServingFixtures serving = new ServingFixtures();

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
        replaceBadTensor(dir, t -> t.get(":, :-1")); // one input column short
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
        replaceBadTensor(dir, t -> t.mul(Float.NaN));
        LoadedBase llama = serving.engine.bases().get(TestModels.tinyLlama());
        AdapterMismatchException e = assertThrows(AdapterMismatchException.class,
                () -> AdapterValidator.validate(dir, llama));
        assertEquals("model.layers.1.self_attn.v_proj", e.offending());
    }

    // --- corrupt files: a 400 on "file" whose message names the file and the field or tensor, never a server path ---

    @Test
    void aTruncatedWeightsFileIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        Path weights = dir.resolve("adapter_model.safetensors");
        byte[] whole = Files.readAllBytes(weights);
        Files.write(weights, Arrays.copyOf(whole, whole.length / 2));
        assertCorrupt(dir, "adapter_model.safetensors: tensor 'base_model.model.model.layers.", "truncated file?");
    }

    @Test
    void aWeightsHeaderThatIsNotJsonIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        writeRaw(dir, 24, "{\"a\": [1, 2, not json}}}", new byte[16]);
        assertCorrupt(dir, "adapter_model.safetensors: bad header: not valid JSON", "");
    }

    @Test
    void aHeaderLengthBeyondTheFileIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        writeRaw(dir, 1_000_000, "{}", new byte[0]);
        assertCorrupt(dir, "adapter_model.safetensors: bad header length 1000000", "truncated");
        writeRaw(dir, -1, "{}", new byte[0]); // 2^64 - 1 read as a signed length
        assertCorrupt(dir, "adapter_model.safetensors: bad header length 18446744073709551615", "");
    }

    @Test
    void wrongDtypesAreNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        replaceBadTensor(dir, t -> t.toType(DataType.INT32, false));
        assertCorrupt(dir, "adapter_model.safetensors: tensor '" + BAD_KEY + "': has dtype I32", "floating point");
        String f8 = "{\"" + BAD_KEY + "\": {\"dtype\": \"F8_E4M3\", \"shape\": [4, 64], \"data_offsets\": [0, 256]}}";
        writeRaw(dir, f8.length(), f8, new byte[256]);
        assertCorrupt(dir, "adapter_model.safetensors: tensor '" + BAD_KEY + "': unsupported dtype F8_E4M3", "");
        // 2^31 x 2^31 floats are 2^64 bytes, which wraps to the 0 bytes stored: an overflow, not an empty tensor
        String huge = "{\"" + BAD_KEY + "\": {\"dtype\": \"F32\", \"shape\": [2147483648, 2147483648], "
                + "\"data_offsets\": [0, 0]}}";
        writeRaw(dir, huge.length(), huge, new byte[0]);
        assertCorrupt(dir, "adapter_model.safetensors: tensor '" + BAD_KEY + "': bad header entry", "");
    }

    @Test
    void missingWeightsAreNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        Files.delete(dir.resolve("adapter_model.safetensors"));
        assertCorrupt(dir, "adapter_model.safetensors: adapter weights are missing", "");
    }

    @Test
    void aConfigThatIsNotAJsonObjectIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", ");
        assertCorrupt(dir, "adapter_config.json: is not valid UTF-8 JSON", "");
        Files.writeString(dir.resolve("adapter_config.json"), "[1, 2]");
        assertCorrupt(dir, "adapter_config.json: must hold a JSON object", "");
        Files.write(dir.resolve("adapter_config.json"), new byte[] {'{', '"', (byte) 0xff, '"', ':', '1', '}'});
        assertCorrupt(dir, "adapter_config.json: is not valid UTF-8 JSON", "");
        Files.writeString(dir.resolve("adapter_config.json"), "{\"r\": 4, \"pad\": \"" + "x".repeat(1 << 20) + "\"}");
        assertCorrupt(dir, "adapter_config.json: is 10", "at most 1048576");
    }

    @Test
    void missingAndMistypedConfigFieldsAreNamed(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        editConfig(dir, c -> c.remove("peft_type"));
        assertCorrupt(dir, "adapter_config.json peft_type: is missing", "");
        editConfig(dir, c -> c.add("peft_type", new JsonObject()));
        assertCorrupt(dir, "adapter_config.json peft_type: must be a string", "");
        editConfig(dir, c -> c.addProperty("peft_type", "LORA"));
        editConfig(dir, c -> c.remove("target_modules"));
        assertCorrupt(dir, "adapter_config.json target_modules: is missing", "");
        editConfig(dir, c -> c.add("target_modules", JsonParser.parseString("[\"q_proj\", {}]")));
        assertCorrupt(dir, "adapter_config.json target_modules: must list module names as strings", "");
        editConfig(dir, c -> c.add("target_modules", JsonParser.parseString("[\"q_proj\"]")));
        editConfig(dir, c -> c.addProperty("r", "four"));
        assertCorrupt(dir, "adapter_config.json r: must be a number", "");
        editConfig(dir, c -> c.addProperty("r", 4));
        editConfig(dir, c -> c.add("rank_pattern", JsonParser.parseString("[2]")));
        assertCorrupt(dir, "adapter_config.json rank_pattern: must be an object", "");
    }

    /** The second hostile regex from the hardening issue: it pinned the upload's request thread. */
    @Test
    void aCatastrophicRankPatternKeyIsRefusedPromptlyNamingFileAndKey(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("llama-lora", tmp);
        editConfig(dir, c -> c.add("rank_pattern", JsonParser.parseString("{\"(.*){12}Z\": 2}")));
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertCorrupt(dir,
                "adapter_config.json rank_pattern['(.*){12}Z']: regular expression", "needs more than"));
    }

    private static void assertCorrupt(Path dir, String messageStart, String alsoContains) {
        LoadedBase llama = serving.engine.bases().get(TestModels.tinyLlama());
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> AdapterValidator.validate(dir, llama));
        assertEquals("file", e.param());
        assertTrue(e.getMessage().startsWith("file: " + messageStart), e.getMessage());
        assertTrue(e.getMessage().contains(alsoContains), e.getMessage());
        assertFalse(e.getMessage().contains(dir.toString()), "a server path leaked: " + e.getMessage());
    }

    /** A safetensors file from its parts: the 8-byte header length (which may lie), the header, the data. */
    private static void writeRaw(Path dir, long headerLength, String header, byte[] data) throws IOException {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLength);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(length.array());
        out.write(header.getBytes(StandardCharsets.UTF_8));
        out.write(data);
        Files.write(dir.resolve("adapter_model.safetensors"), out.toByteArray());
    }

    private static void editConfig(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve("adapter_config.json");
        JsonObject config = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(config);
        Files.writeString(file, config.toString());
    }

    /** Rewrites the adapter's weights with {@link #BAD_KEY} replaced by {@code change} of itself. */
    private static void replaceBadTensor(Path dir, java.util.function.UnaryOperator<NDArray> change) throws IOException {
        Path weights = dir.resolve("adapter_model.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            try (SafetensorsFile file = SafetensorsFile.open(weights)) {
                for (String name : file.names()) {
                    NDArray t = file.load(name, manager);
                    tensors.put(name, name.equals(BAD_KEY) ? change.apply(t) : t);
                }
            }
            SafetensorsWriter.write(weights, tensors, Map.of("format", "pt"));
        }
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
