package dev.peftd.catalog;

import dev.peftd.catalog.ModelFailure.FileException;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Loads a model's tokenizer and encodes a probe text with it before the model may become {@code ready}: a
 * tokenizer.json that does not load, encodes nothing or yields ids the model has no embedding for would otherwise
 * pass registration and fail every request that uses the model.
 */
final class TokenizerProbe {

    static final String PROBE = "Hello, world! 0123456789 — ünïcödé";

    private TokenizerProbe() {
    }

    static void check(Path dir, ModelConfig config) throws FileException {
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.load(dir);
        } catch (RuntimeException e) {
            String message = ModelFailure.scrub(String.valueOf(e.getMessage()), dir);
            String file = message.startsWith("tokenizer_config.json") ? "tokenizer_config.json" : "tokenizer.json";
            throw new FileException(file, null, "does not load: " + message);
        }
        try (tokenizer) {
            long[] ids = tokenizer.encode(PROBE);
            if (ids.length == 0) {
                throw new FileException("tokenizer.json", null, "encodes the probe text '" + PROBE + "' to no tokens");
            }
            for (long id : ids) {
                requireInVocabulary("tokenizer.json", null, id, config);
            }
            tokenizer.decode(ids);
            requireInVocabulary("tokenizer_config.json", "bos_token", tokenizer.bosTokenId(), config);
            requireInVocabulary("tokenizer_config.json", "eos_token", tokenizer.eosTokenId(), config);
        } catch (RuntimeException e) {
            throw new FileException("tokenizer.json", null, "cannot encode the probe text: "
                    + ModelFailure.scrub(String.valueOf(e.getMessage()), dir));
        }
    }

    private static void requireInVocabulary(String file, String field, OptionalLong id, ModelConfig config)
            throws FileException {
        if (id.isPresent()) {
            requireInVocabulary(file, field, id.getAsLong(), config);
        }
    }

    private static void requireInVocabulary(String file, String field, long id, ModelConfig config)
            throws FileException {
        if (id < 0 || id >= config.vocabSize()) {
            throw new FileException(file, field, "token id " + id + " is outside the model's vocabulary (vocab_size "
                    + config.vocabSize() + " in config.json)");
        }
    }
}
