package dev.peftd.comparison;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import dev.peftd.core.adapter.analysis.ModuleChange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report builder on given runs (as a service's child jobs would hand them over): rule, escaping, pictures. */
class ReportFilesTest {

    @TempDir
    Path dir;

    /** A run with the given loss and size; its analysis has two modules of two layers. */
    static MethodRun run(String method, long seed, double loss, long params) {
        List<ModuleChange> modules = new ArrayList<>();
        for (int layer = 0; layer < 2; layer++) {
            for (String proj : List.of("q_proj", "v_proj")) {
                double[] sv = {0.3 + layer, 0.1, 0.01};
                modules.add(new ModuleChange("model.layers." + layer + ".self_attn." + proj, 0.32 + layer, 10, sv,
                        2.1, 3, null));
            }
        }
        return new MethodRun(method, seed, "adapters/" + method + "/seed-" + seed, 3.0, loss,
                List.of(new MethodRun.CurvePoint(0, 3.0), new MethodRun.CurvePoint(5, (3.0 + loss) / 2),
                        new MethodRun.CurvePoint(10, loss)), 0.05, 300, params * 4, Map.of("r", 8),
                new AdapterAnalysis(method, params, 1_000_000, modules));
    }

    @Test
    void recommendsTheSmallestMethodWithinTheSeedSpreadOfTheBest() {
        // lora is best (2.00 ± 0.0141); vera is 0.005 worse with far fewer parameters: within the spread
        List<MethodRun> runs = List.of(run("lora", 1, 1.99, 8000), run("vera", 1, 2.00, 300), run("lora_fa", 1, 2.3, 4000),
                run("lora", 2, 2.01, 8000), run("vera", 2, 2.01, 300), run("lora_fa", 2, 2.3, 4000));
        ComparisonReport report = new ComparisonReport("m", "t", "e", Map.of(), runs);
        Recommendation rec = report.recommendation();
        assertThat(rec.best()).isEqualTo("lora");
        assertThat(rec.equivalents()).containsExactly("lora", "vera");
        assertThat(rec.method()).isEqualTo("vera");
        assertThat(rec.sentence(report.summaries())).contains("Use vera", "within the seed spread of the best, lora");
    }

    @Test
    void withOneSeedOnlyTheBestQualifies() {
        ComparisonReport report = new ComparisonReport("m", "t", "e", Map.of(),
                List.of(run("lora", 1, 1.99, 8000), run("vera", 1, 1.991, 300)));
        assertThat(report.recommendation().method()).isEqualTo("lora");
    }

    @Test
    void writesJsonHtmlAndPicturesAndEscapesWhatUsersWrote() throws IOException {
        ComparisonReport report = new ComparisonReport("m<i>x</i>", "a<b>&\"c\".jsonl", "e'.jsonl",
                Map.of("max_steps", 10), List.of(run("lora", 1, 1.99, 8000), run("vera", 1, 2.2, 300)));
        ReportFiles.write(report, dir);
        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).doesNotContain("<i>x</i>", "a<b>", "e'.jsonl")
                .contains("m&lt;i&gt;x&lt;/i&gt;", "a&lt;b&gt;&amp;&quot;c&quot;.jsonl", "e&#39;.jsonl");
        assertThat(html.split("<tr><td>", -1)).hasSize(3);
        List<String> pictures = List.of("loss_curves.png", "quality_vs_params.png", "relative_change_heatmap.png",
                "effective_rank_heatmap.png", "spectra_lora.png", "spectra_vera.png");
        for (String p : pictures) {
            var image = ImageIO.read(dir.resolve("pictures").resolve(p).toFile());
            assertThat(image).as(p).isNotNull();
            assertThat(image.getWidth()).isEqualTo(900);
            assertThat(html).contains("data-file=\"pictures/" + p + "\"");
        }
        assertThat(html.split("src=\"data:image/png;base64,", -1)).hasSize(pictures.size() + 1);
        assertThat(Files.readString(dir.resolve("report.json"))).contains("\"adapter_dir\": \"adapters/vera/seed-1\"");
    }

    @Test
    void shortNamesKeepLayerAndProjection() {
        assertThat(ReportCharts.shortName("model.layers.12.mlp.down_proj")).isEqualTo("12.down_proj");
        assertThat(ReportCharts.shortName("transformer.h.3.attn.c_attn")).isEqualTo("3.c_attn");
    }
}
