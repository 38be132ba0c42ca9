package dev.peftd.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tokenizer of a Hugging Face model directory: {@code tokenizer.json} through DJL's binding of the Rust
 * {@code tokenizers} library (the same code transformers runs), plus {@code tokenizer_config.json} for the
 * BOS/EOS tokens and the chat templates.
 *
 * <p>Special tokens follow transformers 5: the tokenizer.json post-processor alone decides what
 * {@link #encode(String)} adds (BOS for Llama, nothing for GPT-2/Qwen2); rendered chat templates already carry
 * their special tokens as text, so {@link #encodeChat} encodes without adding any and BOS is never doubled.
 */
public final class Tokenizer implements AutoCloseable {

    private final Path directory;
    private final HuggingFaceTokenizer tokenizer;
    private final TokenizerConfigFile config;
    private final OptionalLong bosTokenId;
    private final OptionalLong eosTokenId;
    private final boolean addsBosToken;
    /** Built once: a jinjava engine is costly to set up, and rendering with it is thread-safe. */
    private final Map<String, ChatTemplate> chatTemplates = new java.util.LinkedHashMap<>();
    /** Read from tokenizer.json on first use: only logprobs need it, and a vocabulary can be megabytes. */
    private volatile TokenBytes tokenBytes;
    // one token's text and specialness never change: scored prompts and logprobs ask for them per position, each a
    // native decode, so each id is decoded once
    private final Map<Long, String> tokenTexts = new ConcurrentHashMap<>();
    private final Map<Long, Boolean> specials = new ConcurrentHashMap<>();

    private Tokenizer(Path directory, HuggingFaceTokenizer tokenizer, TokenizerConfigFile config) {
        this.directory = directory;
        this.tokenizer = tokenizer;
        this.config = config;
        this.bosTokenId = idOfSpecialToken(config.bosToken(), "bos_token");
        this.eosTokenId = idOfSpecialToken(config.eosToken(), "eos_token");
        long[] onlySpecials = tokenizer.encode("", true, false).getIds();
        this.addsBosToken = bosTokenId.isPresent() && onlySpecials.length > 0 && onlySpecials[0] == bosTokenId.getAsLong();
        config.chatTemplates().forEach((name, source) ->
                chatTemplates.put(name, new ChatTemplate(name, source, config.bosToken(), config.eosToken())));
    }

    /**
     * Loads {@code tokenizer.json} (required) and {@code tokenizer_config.json} (optional) from a model directory.
     * Special tokens of the config that tokenizer.json lists only in its vocabulary (or nowhere) are added to it
     * first, as transformers does ({@link AddedSpecialTokens}).
     */
    public static Tokenizer load(Path modelDirectory) {
        Path json = modelDirectory.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            throw new TokenizerException(json + ": not found (peftd needs the fast tokenizer file tokenizer.json)");
        }
        TokenizerConfigFile config = TokenizerConfigFile.read(modelDirectory);
        String text;
        try {
            text = Files.readString(json);
        } catch (IOException e) {
            throw new TokenizerException(json + ": cannot read: " + e.getMessage(), e);
        }
        HuggingFaceTokenizer tokenizer = open(json, text);
        // Nearly every model lists its special tokens as added tokens already: parsing its (up to ~10 MB)
        // tokenizer.json is only needed when one is not.
        if (!config.specialTokens().stream().allMatch(token -> isSpecialAddedToken(tokenizer, token.content()))) {
            String completed;
            try {
                completed = AddedSpecialTokens.addMissing(text, config.specialTokens());
            } catch (RuntimeException e) {
                tokenizer.close();
                throw new TokenizerException(json + ": not a valid tokenizer file: " + e.getMessage(), e);
            }
            if (!completed.equals(text)) {
                tokenizer.close();
                return create(modelDirectory, open(json, completed), config);
            }
        }
        return create(modelDirectory, tokenizer, config);
    }

    /** Closes the native tokenizer when its special tokens are unusable. */
    private static Tokenizer create(Path directory, HuggingFaceTokenizer tokenizer, TokenizerConfigFile config) {
        try {
            return new Tokenizer(directory, tokenizer, config);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    private static HuggingFaceTokenizer open(Path json, String text) {
        // From a stream, not the directory: DJL would otherwise apply its own reading of tokenizer_config.json
        // (lower-casing, accent stripping, truncation to model_max_length) where transformers 5 does not.
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
        try (InputStream in = new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8))) {
            return HuggingFaceTokenizer.newInstance(in, options);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(json + ": not a valid tokenizer file: " + e.getMessage(), e);
        }
    }

    /** A special added token encodes to its one id, which decoding without special tokens drops. */
    private static boolean isSpecialAddedToken(HuggingFaceTokenizer tokenizer, String token) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        return ids.length == 1 && tokenizer.decode(ids, true).isEmpty();
    }

    /** Ids of {@code text} with the special tokens the post-processor adds (as {@code tokenizer.encode(text)}). */
    public long[] encode(String text) {
        return encode(text, true);
    }

    public long[] encode(String text, boolean addSpecialTokens) {
        return tokenizer.encode(text, addSpecialTokens, false).getIds();
    }

    /** Text of {@code ids} without special tokens (BOS, EOS, chat markers), as {@code decode(ids, skip_special_tokens=True)}. */
    public String decode(long[] ids) {
        return decode(ids, true);
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    /** The text of one token on its own (special tokens included); a lone byte of a multi-byte character shows as U+FFFD. */
    public String tokenText(long id) {
        return tokenTexts.computeIfAbsent(id, key -> tokenizer.decode(new long[] {key}, false));
    }

    /**
     * The raw bytes of one token (see {@link TokenBytes}): a piece of a multi-byte character has bytes that are not
     * valid UTF-8 on their own, which {@link #tokenText} cannot show.
     */
    public byte[] tokenBytes(long id) {
        TokenBytes read = tokenBytes;
        if (read == null) {
            synchronized (this) {
                if (tokenBytes == null) {
                    tokenBytes = readTokenBytes();
                }
                read = tokenBytes;
            }
        }
        return read.of(id);
    }

    /** A special token (BOS, EOS, chat markers): decoding without special tokens drops it. */
    public boolean isSpecial(long id) {
        return specials.computeIfAbsent(id, key -> tokenizer.decode(new long[] {key}, true).isEmpty()
                && !tokenText(key).isEmpty());
    }

    private TokenBytes readTokenBytes() {
        Path json = directory.resolve("tokenizer.json");
        try {
            return TokenBytes.read(AddedSpecialTokens.addMissing(Files.readString(json), config.specialTokens()));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(json + ": cannot read its vocabulary: " + e.getMessage(), e);
        }
    }

    /** Streaming decoder for tokens that follow {@code contextIds} (usually the prompt). */
    public IncrementalDecoder newIncrementalDecoder(long[] contextIds) {
        return new IncrementalDecoder(this, contextIds);
    }

    public OptionalLong bosTokenId() {
        return bosTokenId;
    }

    public OptionalLong eosTokenId() {
        return eosTokenId;
    }

    /** Whether {@link #encode(String)} puts the BOS token in front by itself (so callers must not add another). */
    public boolean addsBosToken() {
        return addsBosToken;
    }

    /** The template named {@code default} (or the only one), if tokenizer_config.json has any. */
    public Optional<ChatTemplate> chatTemplate() {
        if (chatTemplates.containsKey(TokenizerConfigFile.DEFAULT_TEMPLATE)) {
            return chatTemplate(TokenizerConfigFile.DEFAULT_TEMPLATE);
        }
        return chatTemplates.size() == 1 ? Optional.of(chatTemplates.values().iterator().next()) : Optional.empty();
    }

    public Optional<ChatTemplate> chatTemplate(String name) {
        return Optional.ofNullable(chatTemplates.get(name));
    }

    /** Renders the default chat template and encodes the result without adding special tokens (the template has them). */
    public long[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        ChatTemplate template = chatTemplate().orElseThrow(() -> new TokenizerException(
                directory.resolve("tokenizer_config.json") + ": no 'chat_template' (this is not a chat model)"));
        return encode(template.render(messages, addGenerationPrompt), false);
    }

    private OptionalLong idOfSpecialToken(String token, String key) {
        if (token == null) {
            return OptionalLong.empty();
        }
        long[] ids = tokenizer.encode(token, false, false).getIds();
        if (ids.length != 1) {
            throw new TokenizerException(directory.resolve("tokenizer_config.json") + ": '" + key + "' " + token
                    + " is not a single token of tokenizer.json (it encodes to " + ids.length + " tokens)");
        }
        return OptionalLong.of(ids[0]);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
