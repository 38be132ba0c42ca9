package dev.peftd.core.tokenizer;

/**
 * A special token named in tokenizer_config.json ({@code bos_token}, {@code pad_token}, an extra special token, …)
 * with the matching flags of an {@code added_tokens} entry of tokenizer.json. A plain string in the config means
 * all flags false, as transformers reads it.
 */
record SpecialToken(String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized) {

    static SpecialToken of(String content) {
        return new SpecialToken(content, false, false, false, false);
    }
}
