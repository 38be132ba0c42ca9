package dev.peftd.cli;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.generate.SequenceScore;
import dev.peftd.core.generate.SequenceScorer;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code score --model DIR [--adapter DIR] (--text TEXT | --input-ids 1,2,3 | --data FILE.jsonl) [--dump-logits]
 * [--json]}: mean next-token loss and perplexity of text under the model, or under the model with a PEFT adapter
 * applied unmerged (a quick evaluation). With {@code --data}, every line is
 * an object with a {@code "text"} field and the loss is pooled over all their tokens.
 */
final class ScoreCommand implements Command {

    static final String USAGE = "usage: score --model DIR|hf://org/name[@rev] [--adapter DIR] (--text TEXT |"
            + " --input-ids 1,2,3 | --data FILE.jsonl) [--dump-logits] [--json]";
    static final String HELP = USAGE + """

              Mean next-token loss and perplexity of text under the model.
            %s
            %s
              --text TEXT        the text to score, encoded as transformers does
              --input-ids 1,2,3  token ids, used as given
              --data FILE.jsonl  one {"text": ...} object a line; the loss is pooled over all their tokens
              --dump-logits      with --json and one --text or --input-ids: the logits of every position too
              --json             print {"loss", "perplexity", "tokens", "sequences"}"""
            .formatted(ModelArgument.HELP, AdapterArgument.HELP);
    static final Set<String> VALUED = Set.of("model", "adapter", "text", "input-ids", "data");
    static final Set<String> FLAGS = Set.of("dump-logits", "json");

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        CliOptions o = CliOptions.parse(args, VALUED, FLAGS);
        int inputs = (o.has("text") ? 1 : 0) + (o.has("input-ids") ? 1 : 0) + (o.has("data") ? 1 : 0);
        if (inputs != 1) {
            throw new UsageException("give exactly one of --text, --input-ids or --data; " + USAGE);
        }
        boolean dumpLogits = o.flag("dump-logits");
        if (dumpLogits && (!o.flag("json") || o.has("data"))) {
            throw new UsageException("--dump-logits needs --json and a single input (--text or --input-ids)");
        }
        List<String> texts = o.has("data") ? readJsonl(Path.of(o.required("data"))) : null;
        Path dir = ModelArgument.directory(o.required("model"));
        Path adapterDir = o.has("adapter") ? AdapterArgument.directory(o.required("adapter")) : null;
        try (Tokenizer tokenizer = ModelArgument.tokenizer(dir, !o.has("input-ids"));
             CausalLm model = ModelArgument.load(dir);
             AbstractAdapter adapter = adapterDir == null ? null : AdapterArgument.load(adapterDir, dir, model, err)) {
            SequenceScorer scorer = new SequenceScorer(model);
            List<SequenceScore> scores = new ArrayList<>();
            if (texts != null) {
                for (int i = 0; i < texts.size(); i++) {
                    scores.add(scoreOrExplain(scorer, adapter, tokenizer.encode(texts.get(i)), false,
                            "--data line " + (i + 1)));
                }
            } else {
                long[] ids = o.has("text") ? tokenizer.encode(o.required("text"))
                        : ModelArgument.tokenIds("input-ids", o.required("input-ids"), model.config().vocabSize());
                scores.add(scoreOrExplain(scorer, adapter, ids, dumpLogits, o.has("text") ? "--text" : "--input-ids"));
            }
            print(out, scores, o.flag("json"), dumpLogits);
            return 0;
        }
    }

    private static SequenceScore scoreOrExplain(SequenceScorer scorer, LinearHook adapter, long[] ids, boolean logits,
                                                String what) throws UsageException {
        try {
            return scorer.score(ids, adapter, logits);
        } catch (IllegalArgumentException e) {
            throw new UsageException(what + ": " + e.getMessage(), e);
        }
    }

    private static void print(PrintStream out, List<SequenceScore> scores, boolean json, boolean dumpLogits) {
        double loss = SequenceScore.meanLoss(scores);
        long tokens = scores.stream().mapToLong(SequenceScore::scoredTokens).sum();
        if (!json) {
            out.printf(Locale.ROOT, "loss %.6f  perplexity %.4f  (%d tokens scored in %d sequence%s)%n", loss,
                    Math.exp(loss), tokens, scores.size(), scores.size() == 1 ? "" : "s");
            return;
        }
        Map<String, Object> object = new LinkedHashMap<>();
        object.put("loss", loss);
        object.put("perplexity", Math.exp(loss));
        object.put("tokens", tokens);
        object.put("sequences", scores.size());
        if (dumpLogits) {
            object.put("logits", scores.get(0).logits());
        }
        out.println(new Gson().toJson(object));
    }

    private static List<String> readJsonl(Path file) throws UsageException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UsageException("--data " + file + ": cannot read (" + e.getMessage() + ")", e);
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                JsonElement parsed = JsonParser.parseString(lines.get(i));
                JsonObject record = parsed.isJsonObject() ? parsed.getAsJsonObject() : null;
                if (record == null || !record.has("text") || !record.get("text").isJsonPrimitive()) {
                    throw new UsageException("--data " + file + " line " + (i + 1) + ": expected an object with a \"text\" string");
                }
                texts.add(record.get("text").getAsString());
            } catch (JsonParseException e) {
                throw new UsageException("--data " + file + " line " + (i + 1) + ": not valid JSON (" + e.getMessage() + ")", e);
            }
        }
        if (texts.isEmpty()) {
            throw new UsageException("--data " + file + ": no records");
        }
        return texts;
    }
}
