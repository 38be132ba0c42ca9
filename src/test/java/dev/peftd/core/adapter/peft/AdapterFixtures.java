package dev.peftd.core.adapter.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.tensor.SafetensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The PEFT-made adapters of {@code tools/reference/make_adapter_fixtures.py} (src/test/resources/fixtures/adapters/):
 * each directory is a PEFT {@code save_pretrained} output plus {@code expected.safetensors} with PEFT's logits and
 * merged weights.
 */
final class AdapterFixtures {

    private AdapterFixtures() {
    }

    static Path dir(String name) {
        return resource("fixtures/adapters/" + name);
    }

    static Path resource(String path) {
        URL url = AdapterFixtures.class.getClassLoader().getResource(path);
        if (url == null || !url.getProtocol().equals("file")) {
            throw new IllegalStateException("test fixture " + path + " is not a file on the classpath: " + url);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every tensor of a safetensors file, loaded into {@code manager}. */
    static Map<String, NDArray> load(Path file, NDManager manager) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                out.put(name, f.load(name, manager));
            }
        }
        return out;
    }

    static Map<String, NDArray> expected(String name, NDManager manager) throws IOException {
        return load(dir(name).resolve("expected.safetensors"), manager);
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        try (NDArray d = a.sub(b); NDArray abs = d.abs(); NDArray max = abs.max()) {
            return max.getFloat();
        }
    }
}
