package dev.peftd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The PEFT adapter directories a serving benchmark cycles over, as tools/bench/peft_mixed_batch.py writes them. */
final class AdapterDirs {

    private AdapterDirs() {
    }

    /** The sub-directories of {@code folder} holding an adapter_config.json, sorted; an IOException when none does. */
    static List<Path> in(Path folder) throws IOException {
        List<Path> adapters;
        try (Stream<Path> dirs = Files.list(folder)) {
            adapters = dirs.filter(d -> Files.isRegularFile(d.resolve("adapter_config.json"))).sorted().toList();
        }
        if (adapters.isEmpty()) {
            throw new IOException("no PEFT adapter directories (with adapter_config.json) in " + folder);
        }
        return adapters;
    }
}
