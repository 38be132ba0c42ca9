package dev.peftd.catalog;

import dev.peftd.catalog.ModelFailure.FileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The cheap checks a model folder must pass before the runtime loads it: a Hugging Face layout with
 * {@code config.json} naming an architecture, safetensors weights and a {@code tokenizer.json} (the runtime's loader
 * does not read the tokenizer, but training and serving need it). Messages name files by their name in the folder,
 * never by a server path.
 */
final class ModelFiles {

    private ModelFiles() {
    }

    /** @return the architecture named in config.json; throws with the missing or broken file named */
    static String check(Path dir, JsonMapper json) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new ModelFailure.SourceException("the model folder does not exist");
        }
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new FileException("config.json", null, "missing");
        }
        try (Stream<Path> files = Files.list(dir)) {
            if (files.noneMatch(p -> p.getFileName().toString().endsWith(".safetensors"))) {
                throw new FileException("model.safetensors", null, "no *.safetensors weights in the model folder");
            }
        }
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new FileException("tokenizer.json", null, "missing");
        }
        JsonNode node;
        try {
            node = json.readTree(config.toFile());
        } catch (JacksonException e) {
            throw new FileException("config.json", null, "not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode architectures = node.path("architectures");
        if (!architectures.isArray() || architectures.isEmpty() || !architectures.get(0).isString()) {
            throw new FileException("config.json", "architectures", "missing; cannot tell which model class this is");
        }
        return architectures.get(0).asString();
    }
}
