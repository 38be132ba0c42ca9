package dev.peftd.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json mapping: transformers 5 and 4.x dialects, GPT-2's own keys, and errors that name the key. */
class ModelConfigTest {

    @TempDir
    Path temp;

    @Test
    void transformers5LlamaWithLlama3RopeScaling() throws Exception {
        ModelConfig c = ModelLoader.readConfig(TestModels.tinyLlama());
        assertEquals("LlamaForCausalLM", c.architecture());
        assertEquals(new RopeParameters("llama3", 500000.0, 8.0, 1.0, 4.0, 8), c.rope());
        assertEquals(4, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(16, c.headDim());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertEquals(1, c.bosTokenId());
        assertArrayEquals(new int[] {2}, c.eosTokenIds());
    }

    @Test
    void transformers4Qwen2HasQkvBiasAndTopLevelTheta() throws Exception {
        ModelConfig c = ModelLoader.readConfig(TestModels.tinyQwen2());
        assertEquals(RopeParameters.plain(1_000_000.0), c.rope());
        assertTrue(c.attentionBias());
        assertFalse(c.outputBias());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(1e-6, c.normEps());
        assertEquals(0, c.slidingWindow());
    }

    @Test
    void mistralHeadDimDiffersFromHiddenOverHeads() throws Exception {
        ModelConfig c = ModelLoader.readConfig(TestModels.tinyMistral());
        assertEquals(32, c.headDim());
        assertEquals(64, c.hiddenSize());
        assertEquals(RopeParameters.plain(10000.0), c.rope());
    }

    @Test
    void gpt2KeysMapToTheCommonFields() throws Exception {
        ModelConfig c = ModelLoader.readConfig(TestModels.tinyGpt2());
        assertEquals(64, c.hiddenSize());
        assertEquals(256, c.intermediateSize(), "n_inner null means 4 × n_embd");
        assertEquals(64, c.maxPositionEmbeddings());
        assertEquals(4, c.numKvHeads());
        assertNull(c.rope());
        assertEquals("gelu_new", c.activation());
    }

    @Test
    void legacyLinearRopeScalingAndLlamaBiases() throws Exception {
        ModelConfig c = ModelLoader.readConfig(TestModels.tiny("tiny-llama-bias"));
        assertEquals(new RopeParameters("linear", 10000.0, 2.0, 0, 0, 0), c.rope());
        assertTrue(c.attentionBias());
        assertTrue(c.outputBias(), "Llama's attention_bias covers o_proj too");
        assertTrue(c.mlpBias());
        assertEquals(c.numHeads(), c.numKvHeads());
    }

    @Test
    void transformers4Llama3RopeScalingAndEosList() throws Exception {
        Path dir = config("""
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "rope_theta": 500000.0, "eos_token_id": [7, 9],
                 "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""");
        ModelConfig c = ModelLoader.readConfig(dir);
        assertEquals(new RopeParameters("llama3", 500000.0, 32.0, 1.0, 4.0, 8192), c.rope());
        assertEquals(2, c.numKvHeads(), "num_key_value_heads defaults to the head count");
        assertArrayEquals(new int[] {7, 9}, c.eosTokenIds());
    }

    @Test
    void errorsNameTheFileAndTheKey() throws Exception {
        assertError("""
                {"architectures": ["BertForMaskedLM"]}""", "'BertForMaskedLM' is not supported");
        assertError("""
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 10}""", "key 'hidden_size': missing");
        assertError("""
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "rope_scaling": {"type": "yarn", "factor": 4}}""",
                "key 'rope_scaling.rope_type': 'yarn' is not supported");
        assertError("""
                {"architectures": ["LlamaForCausalLM"], "hidden_size": "eight"}""", "key 'hidden_size': expected an integer");
        assertError("""
                {"vocab_size": 10}""", "key 'architectures': missing");
        assertError("not json", "not valid JSON");
        ModelLoadException missingDir = assertThrows(ModelLoadException.class,
                () -> ModelLoader.readConfig(temp.resolve("nowhere")));
        assertTrue(missingDir.getMessage().contains("does not exist"), missingDir.getMessage());
    }

    /** Values that load but make a model talk nonsense (or make the server's context checks meaningless). */
    @Test
    void implausibleValuesAreRefusedNamingTheKey() throws Exception {
        String llama = """
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 2, %s}""";
        assertField(llama.formatted("\"rope_theta\": -1"), "rope_theta", "must be a positive number, got -1.0");
        assertField(llama.formatted("\"rope_theta\": 0"), "rope_theta", "positive");
        assertField(llama.formatted("\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": -5}"),
                "rope_parameters.rope_theta", "positive");
        assertField(llama.formatted("\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0}"),
                "rope_scaling.factor", "positive");
        assertField(llama.formatted("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, "
                + "\"low_freq_factor\": 4, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8}"),
                "rope_scaling.high_freq_factor", "greater than low_freq_factor");
        assertField(llama.formatted("\"max_position_embeddings\": 1000000000"), "max_position_embeddings",
                "beyond the sane bound of 16777216");
        assertField(llama.formatted("\"max_position_embeddings\": 0"), "max_position_embeddings", "positive integer");
        assertField(llama.formatted("\"rms_norm_eps\": -0.1"), "rms_norm_eps", "positive");
        assertField(llama.formatted("\"num_key_value_heads\": -2"), "num_key_value_heads", "positive integer");
        assertField(llama.formatted("\"num_attention_heads\": 3"), "num_attention_heads", "3 does not divide hidden_size 8");
        assertField(llama.formatted("\"head_dim\": 3"), "head_dim", "even head size");
        assertField(llama.formatted("\"num_hidden_layers\": 0").replace("\"num_hidden_layers\": 1,", ""),
                "num_hidden_layers", "positive integer");
        assertField("""
                {"architectures": ["GPT2LMHeadModel"], "vocab_size": -10, "n_embd": 8, "n_head": 2, "n_layer": 1}""",
                "vocab_size", "positive integer");
        assertField("""
                {"architectures": ["GPT2LMHeadModel"], "vocab_size": 10, "n_embd": 8, "n_head": 2, "n_layer": 1,
                 "n_positions": 99999999}""", "n_positions", "sane bound");
    }

    private void assertField(String json, String field, String reason) throws Exception {
        Path dir = config(json);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelLoader.readConfig(dir), json);
        assertEquals("config.json", e.fileName(), e.getMessage());
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.reason().contains(reason), e.getMessage());
        assertFalse(e.reason().contains(dir.toString()), "the reason alone carries no server path: " + e.reason());
    }

    private void assertError(String json, String expected) throws Exception {
        Path dir = config(json);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelLoader.readConfig(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private Path config(String json) throws Exception {
        Path dir = Files.createTempDirectory(temp, "model");
        Files.writeString(dir.resolve("config.json"), json);
        return dir;
    }
}
