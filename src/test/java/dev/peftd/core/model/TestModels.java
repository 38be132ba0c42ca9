package dev.peftd.core.model;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The model directories tests may use. The tiny ones are complete Hugging Face model directories (config.json,
 * safetensors weights, tokenizer.json, tokenizer_config.json) with random weights, made by
 * {@code tools/reference/make_model_fixtures.py}; each also holds {@code reference.safetensors} with fixed
 * {@code input_ids} [2, 12] and the {@code logits} transformers computes for them.
 */
public final class TestModels {

    /** The tiny fixtures that are complete test models (also used by generation and training tests), by name. */
    public static final List<String> TINY = List.of("tiny-llama", "tiny-qwen2", "tiny-mistral", "tiny-gpt2");

    /** Every tiny fixture with reference logits: {@link #TINY} plus {@code tiny-llama-bias} (Llama with biases, linear rope). */
    public static final List<String> WITH_REFERENCE_LOGITS =
            List.of("tiny-llama", "tiny-qwen2", "tiny-mistral", "tiny-gpt2", "tiny-llama-bias");

    private TestModels() {
    }

    /** LlamaForCausalLM, 2 layers, hidden 64, GQA 4/2, vocab 384, llama3 rope scaling, transformers-5 config. */
    public static Path tinyLlama() {
        return tiny("tiny-llama");
    }

    /** Qwen2ForCausalLM with q/k/v bias, tied embeddings, bf16 weights, transformers-4 config, ChatML template. */
    public static Path tinyQwen2() {
        return tiny("tiny-qwen2");
    }

    /** MistralForCausalLM, head_dim 32 (≠ hidden/heads), untied. */
    public static Path tinyMistral() {
        return tiny("tiny-mistral");
    }

    /** GPT2LMHeadModel, sharded safetensors with an index, tied head, learned positions (64). */
    public static Path tinyGpt2() {
        return tiny("tiny-gpt2");
    }

    /**
     * The real stories260K Llama (../shared/data/models/stories260K, or $PEFTD_SHARED_DATA/models/stories260K), when
     * present. Tests using it should {@code assumeTrue(stories260K().isPresent())}.
     */
    public static Optional<Path> stories260K() {
        Path dir = sharedData().resolve("models/stories260K");
        return Files.isRegularFile(dir.resolve("config.json")) ? Optional.of(dir) : Optional.empty();
    }

    /** ../shared/data relative to the repository root, or $PEFTD_SHARED_DATA. */
    public static Path sharedData() {
        String env = System.getenv("PEFTD_SHARED_DATA");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of("..", "shared", "data");
    }

    /** A fixture directory by name (Maven puts test resources in target/test-classes, a plain directory). */
    public static Path tiny(String name) {
        String resource = "fixtures/models/" + name + "/config.json";
        URL url = TestModels.class.getClassLoader().getResource(resource);
        if (url == null || !url.getProtocol().equals("file")) {
            throw new IllegalStateException("test fixture " + resource + " is not a file on the classpath: " + url);
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
