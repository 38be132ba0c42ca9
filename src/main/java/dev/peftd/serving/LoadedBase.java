package dev.peftd.serving;

import dev.peftd.core.generate.Generator;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.tokenizer.Tokenizer;
import java.nio.file.Path;

/**
 * A base model loaded once on a serving device, with its tokenizer, shared read-only by every request and every
 * adapter on it (adapters reach it only through the per-request {@link dev.peftd.core.model.LinearHook}).
 *
 * @param key the pool's identity for it (normalised directory + device)
 */
record LoadedBase(String key, Path directory, CausalLm model, Tokenizer tokenizer, Generator generator)
        implements AutoCloseable {

    static LoadedBase of(String key, Path directory, CausalLm model, Tokenizer tokenizer) {
        return new LoadedBase(key, directory, model, tokenizer, Generator.forModelDirectory(directory, model, tokenizer));
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
