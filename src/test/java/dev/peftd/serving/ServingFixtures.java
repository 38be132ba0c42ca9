package dev.peftd.serving;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.time.Clock;

/**
 * A serving engine over the tiny fixture models, and the PEFT-made adapters of
 * {@code tools/reference/make_adapter_fixtures.py} (each directory a PEFT {@code save_pretrained} output plus
 * {@code expected.safetensors} with PEFT's logits for the model's fixed input ids).
 */
final class ServingFixtures implements AutoCloseable {

    /** The service's defaults (application.properties): 64 prompts, 128 generations per request. */
    static final CompletionLimits LIMITS = new CompletionLimits(64, 128);

    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final ServingMeters meters = new ServingMeters(registry);
    final ServingEngine engine;
    final Completions completions;
    final ChatCompletions chat;

    ServingFixtures(long adapterCacheBytes, int maxConcurrent) {
        this(adapterCacheBytes, maxConcurrent, Long.MAX_VALUE, ServingLimits.DEFAULTS);
    }

    ServingFixtures(long adapterCacheBytes, int maxConcurrent, long baseModelBytes, ServingLimits limits) {
        this(adapterCacheBytes, maxConcurrent, baseModelBytes, limits, ServingEngine.DEFAULT_BATCH);
    }

    ServingFixtures(long adapterCacheBytes, int maxConcurrent, long baseModelBytes, ServingLimits limits,
                    dev.peftd.core.generate.BatchDecoder.Limits batch) {
        engine = new ServingEngine(new BaseModelPool(Engine.getInstance().defaultDevice(), meters, baseModelBytes, batch),
                new AdapterCache(adapterCacheBytes, meters), meters, maxConcurrent, limits);
        completions = new Completions(engine, Clock.systemUTC(), LIMITS);
        chat = new ChatCompletions(engine, Clock.systemUTC(), LIMITS);
    }

    ServingFixtures() {
        this(64L << 20, 4);
    }

    static ServedModel base(String model) {
        return ServedModel.base(model, TestModels.tiny(model));
    }

    static ServedModel adapter(String adapterFixture, String model) {
        Path dir = adapterDir(adapterFixture);
        return ServedModel.adapter(adapterFixture, TestModels.tiny(model), adapterFixture, () -> dir);
    }

    /**
     * The tiny Llama with a 4096-token context (config.json's max_position_embeddings raised; RoPE needs nothing
     * else) and no EOS token anywhere, written beside the fixture models: a generation that ends only at its
     * max_tokens, a timeout or a hang-up, whatever the machine's speed.
     */
    static Path longContextLlama() throws IOException {
        Path source = TestModels.tinyLlama();
        Path dir = source.resolveSibling("tiny-llama-4k-no-eos");
        Files.createDirectories(dir);
        for (String file : List.of("model.safetensors", "tokenizer.json")) {
            Files.copy(source.resolve(file), dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.writeString(dir.resolve("config.json"), edited(source.resolve("config.json"),
                "\"max_position_embeddings\": 128", "\"max_position_embeddings\": " + LONG_CONTEXT,
                "\"eos_token_id\": 2", "\"eos_token_id\": null"));
        Files.writeString(dir.resolve("generation_config.json"),
                edited(source.resolve("generation_config.json"), "\"eos_token_id\": 2,", ""));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                edited(source.resolve("tokenizer_config.json"), "\"eos_token\": \"</s>\",", ""));
        return dir;
    }

    /** The text of {@code file} with each {@code from, to} pair replaced; every {@code from} must be there. */
    private static String edited(Path file, String... fromTo) throws IOException {
        String text = Files.readString(file);
        for (int i = 0; i < fromTo.length; i += 2) {
            if (!text.contains(fromTo[i])) {
                throw new IllegalStateException(file + " no longer holds " + fromTo[i]);
            }
            text = text.replace(fromTo[i], fromTo[i + 1]);
        }
        return text;
    }

    static final int LONG_CONTEXT = 4096;

        static Path adapterDir(String name) {
        String resource = "fixtures/adapters/" + name + "/adapter_config.json";
        URL url = ServingFixtures.class.getClassLoader().getResource(resource);
        if (url == null || !url.getProtocol().equals("file")) {
            throw new IllegalStateException("test fixture " + resource + " is not a file on the classpath: " + url);
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A tensor of a safetensors file as floats (or longs, for ids), with its shape. */
    static NDArray tensor(Path file, String name, NDManager manager) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.load(name, manager);
        }
    }

    double counter(String name) {
        return registry.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
    }

    @Override
    public void close() {
        engine.close();
    }
}
