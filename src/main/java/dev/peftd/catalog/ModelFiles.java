package dev.peftd.catalog;

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
 * does not read the tokenizer, but training needs it).
 */
final class ModelFiles {

    private ModelFiles() {
    }

    /** @return the architecture named in config.json; throws with the missing or broken file named */
    static String check(Path dir, JsonMapper json) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("folder " + dir + " does not exist");
        }
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IOException("config.json is missing in " + dir);
        }
        try (Stream<Path> files = Files.list(dir)) {
            if (files.noneMatch(p -> p.getFileName().toString().endsWith(".safetensors"))) {
                throw new IOException("no *.safetensors weights in " + dir);
            }
        }
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new IOException("tokenizer.json is missing in " + dir);
        }
        JsonNode node;
        try {
            node = json.readTree(config.toFile());
        } catch (JacksonException e) {
            throw new IOException("config.json is not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode architectures = node.path("architectures");
        if (!architectures.isArray() || architectures.isEmpty() || !architectures.get(0).isString()) {
            throw new IOException("config.json has no \"architectures\" entry");
        }
        return architectures.get(0).asString();
    }
}
