package dev.peftd.serving;

import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.generate.BatchScorer;
import dev.peftd.core.generate.Generator;
import dev.peftd.core.generate.StopTokens;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.tokenizer.Tokenizer;
import java.nio.file.Path;

/**
 * A base model loaded once on a serving device, with its tokenizer, shared read-only by every request and every
 * adapter on it (adapters reach it only through the per-request {@link dev.peftd.core.model.LinearHook}), and its
 * {@link BatchDecoder}: the one loop that runs every generation on this model, all adapters batched together (a
 * merged checkpoint is a base of its own, so its rows only ever batch with each other).
 *
 * @param key       the pool's identity for it (normalised directory + device)
 * @param generator one sequence per forward, for the benchmark's comparison with the batched path
 * @param scorer    scores a request's prompts ({@code echo} with logprobs) several per pass, within the batch's limits
 */
record LoadedBase(String key, Path directory, CausalLm model, Tokenizer tokenizer, Generator generator,
                  BatchDecoder decoder, BatchScorer scorer) implements AutoCloseable {

    static LoadedBase of(String key, Path directory, CausalLm model, Tokenizer tokenizer, BatchDecoder.Limits batch,
                         ServingMeters meters) {
        long[] stops = StopTokens.forModel(directory, model.config(), tokenizer);
        String name = directory.getFileName() == null ? "model" : directory.getFileName().toString();
        return new LoadedBase(key, directory, model, tokenizer, Generator.forModelDirectory(directory, model, tokenizer),
                new BatchDecoder(model, tokenizer, stops, batch, meters.batchObserver(name)),
                new BatchScorer(model, BatchScorer.Budget.of(batch, model.config()), batch.passThreads()));
    }

    /** What it holds on its device: the weights and its batching loop's KV cache (made at its first generation). */
    long bytes() {
        return model.parameterBytes() + decoder.cacheBytes();
    }

    @Override
    public void close() {
        decoder.close(); // its loop ends before the weights it reads are freed
        tokenizer.close();
        model.close();
    }
}
