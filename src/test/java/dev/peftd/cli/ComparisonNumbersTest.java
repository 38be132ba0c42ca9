package dev.peftd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.generate.SequenceScore;
import dev.peftd.core.generate.SequenceScorer;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearHook;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tokenizer.Tokenizer;
import dev.peftd.core.train.data.JsonlDataset;
import dev.peftd.core.train.data.TokenizedExample;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every eval loss in a comparison's report is true: re-computed from each exported PEFT directory alone, loaded onto a
 * fresh base through the importer that {@code score --adapter} uses, and scored one record at a time by the
 * {@link SequenceScorer} (no batching, no padding, not the training loop's evaluation), it matches report.json.
 */
class ComparisonNumbersTest {

    private static final double TOLERANCE = 2e-3;

    @Test
    void evalLossOfEveryExportedAdapterMatchesTheReport() throws IOException {
        ComparedOnce c = ComparedOnce.get();
        assertThat(c.run.exitCode()).as(c.run.err()).isZero();
        JsonObject report = c.report();
        try (Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            List<TokenizedExample> eval = JsonlDataset.read(c.eval, tokenizer,
                    report.getAsJsonObject("budget").get("max_seq_length").getAsInt()).examples();
            for (JsonElement e : report.getAsJsonArray("rows")) {
                JsonObject row = e.getAsJsonObject();
                try (CausalLm base = ModelLoader.load(TestModels.tinyLlama())) {
                    assertThat(pooledLoss(base, null, eval)).as("base").isCloseTo(
                            row.get("eval_loss_before").getAsDouble(), within(TOLERANCE));
                }
                try (CausalLm base = ModelLoader.load(TestModels.tinyLlama());
                     AbstractAdapter adapter = PeftImporter.load(c.out().resolve(row.get("adapter_dir").getAsString()),
                             base.linears())) {
                    double recomputed = pooledLoss(base, adapter, eval);
                    assertThat(recomputed).as(row.get("method").getAsString() + " seed " + row.get("seed"))
                            .isCloseTo(row.get("eval_loss").getAsDouble(), within(TOLERANCE));
                    assertThat(recomputed).isLessThan(row.get("eval_loss_before").getAsDouble() - 10 * TOLERANCE);
                }
            }
        }
    }

    /** Mean NLL over every loss token; text records train on every token after the first, which the scorer scores. */
    private static double pooledLoss(CausalLm model, LinearHook adapter, List<TokenizedExample> eval) {
        SequenceScorer scorer = new SequenceScorer(model);
        List<SequenceScore> scores = new ArrayList<>();
        for (TokenizedExample example : eval) {
            SequenceScore score = scorer.score(Arrays.stream(example.ids()).asLongStream().toArray(), adapter, false);
            assertThat(score.scoredTokens()).isEqualTo(example.lossTokens());
            scores.add(score);
        }
        return SequenceScore.meanLoss(scores);
    }
}
