package dev.peftd.cli;

import com.google.gson.Gson;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.Generator;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.tokenizer.ChatMessage;
import dev.peftd.core.tokenizer.ChatTemplateException;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.tokenizer.TokenizerException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * {@code generate --model DIR [--adapter DIR] (--prompt TEXT | --input-ids 1,2,3) --max-tokens N [--temperature T]
 * [--top-p P] [--seed S] [--stop TEXT] [--chat] [--json]}: continues a prompt ({@code --chat}: answers it as a user
 * message, through the model's chat template), with the base model or with a PEFT adapter applied unmerged. Plain output streams the text as it is generated;
 * {@code --json} prints one object {@code {"text", "token_ids"}} at the end, token_ids being the prompt's ids
 * followed by the generated ones.
 */
final class GenerateCommand implements Command {

    static final String USAGE = "usage: generate --model DIR|hf://org/name[@rev] [--adapter DIR] (--prompt TEXT |"
            + " --input-ids 1,2,3) --max-tokens N [--chat] [--temperature T] [--top-p P] [--seed S] [--stop TEXT] [--json]";
    static final String HELP = USAGE + """

              Continues a prompt, streaming the text as it is generated.
            %s
            %s
              --prompt TEXT      the text to continue, encoded as transformers does (BOS where the model wants it)
              --input-ids 1,2,3  token ids, used as given
              --max-tokens N     how many tokens to generate at most (required)
              --chat             --prompt is a user message, put through the model's chat template
              --temperature T    0 (default) is greedy; otherwise sampling from softmax(logits / T)
              --top-p P          sample only from the top-p nucleus (default 1)
              --seed S           the sampler's seed: the same seed repeats a run
              --stop TEXT        end at this text (cut from the output)
              --json             print {"text", "token_ids"} (prompt and generated ids) at the end instead of streaming"""
            .formatted(ModelArgument.HELP, AdapterArgument.HELP);
    static final Set<String> VALUED = Set.of("model", "adapter", "prompt", "input-ids", "max-tokens", "temperature",
            "top-p", "seed", "stop");
    static final Set<String> FLAGS = Set.of("json", "chat");

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, VALUED, FLAGS);
        if (o.has("prompt") == o.has("input-ids")) {
            throw new UsageException("give exactly one of --prompt or --input-ids; " + USAGE);
        }
        if (o.flag("chat") && !o.has("prompt")) {
            throw new UsageException("--chat needs --prompt (the user message)");
        }
        GenerationOptions options = options(o);
        Path dir = ModelArgument.directory(o.required("model"));
        Path adapterDir = o.has("adapter") ? AdapterArgument.directory(o.required("adapter")) : null;
        boolean json = o.flag("json");
        try (Tokenizer tokenizer = ModelArgument.tokenizer(dir, o.has("prompt") || o.has("stop"));
             CausalLm model = ModelArgument.load(dir);
             AbstractAdapter adapter = adapterDir == null ? null : AdapterArgument.load(adapterDir, dir, model, err)) {
            long[] prompt = o.flag("chat") ? chatPrompt(tokenizer, o.required("prompt"))
                    : o.has("prompt") ? tokenizer.encode(o.required("prompt"))
                    : ModelArgument.tokenIds("input-ids", o.required("input-ids"), model.config().vocabSize());
            if (prompt.length == 0) {
                throw new UsageException("--prompt encodes to no tokens; give some text");
            }
            TokenListener stream = json || tokenizer == null ? TokenListener.NONE : token -> {
                out.print(token.text());
                out.flush();
            };
            GenerationResult result = Generator.forModelDirectory(dir, model, tokenizer).generate(prompt, options, adapter, stream);
            if (json) {
                Map<String, Object> object = new LinkedHashMap<>();
                object.put("text", result.text());
                object.put("token_ids", result.allIds());
                out.println(new Gson().toJson(object));
            } else if (tokenizer == null) {
                out.println(java.util.Arrays.toString(result.generatedIds()));
            } else {
                out.println();
            }
            return 0;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    /** The prompt as one user turn of the model's chat template, ending with the assistant's header. */
    private static long[] chatPrompt(Tokenizer tokenizer, String message) throws UsageException {
        try {
            return tokenizer.encodeChat(List.of(new ChatMessage("user", message)), true);
        } catch (TokenizerException | ChatTemplateException e) {
            throw new UsageException("--chat: " + e.getMessage(), e);
        }
    }

    private static GenerationOptions options(CliOptions o) throws UsageException {
        int maxTokens = o.integer("max-tokens", -1);
        if (maxTokens < 1) {
            throw new UsageException("--max-tokens is required and must be at least 1; " + USAGE);
        }
        double temperature = o.number("temperature", 0);
        double topP = o.number("top-p", 1);
        OptionalLong seed = o.has("seed") ? OptionalLong.of(o.longValue("seed", 0)) : OptionalLong.empty();
        try {
            GenerationOptions options = GenerationOptions.greedy(maxTokens).withSampling(temperature, topP, seed);
            return o.has("stop") ? options.withStopStrings(List.of(o.required("stop"))) : options;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage().replace("temperature", "--temperature").replace("top-p", "--top-p"), e);
        }
    }
}
