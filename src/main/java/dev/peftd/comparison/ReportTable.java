package dev.peftd.comparison;

import java.util.List;
import java.util.Locale;

/** The report's table as Markdown, what the command prints (and a README can quote as printed). */
public final class ReportTable {

    private ReportTable() {
    }

    public static String markdown(ComparisonReport report) {
        List<MethodSummary> rows = report.summaries();
        StringBuilder b = new StringBuilder();
        b.append("| method | trainable params | share | adapter | eval loss before | eval loss after (± sd, seeds) "
                + "| s / step | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (MethodSummary s : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %,d | %.2f%% | %.1f KiB | %.4f | %.4f ± %.4f (%d) | %.3f | %s |%n",
                    s.method(), s.trainableParams(), 100 * s.trainableShare(), s.adapterBytes() / 1024.0,
                    s.evalLossBeforeMean(), s.evalLossMean(), s.evalLossStd(), s.runs().size(), s.stepSecondsMean(),
                    MethodSummary.memory(s.peakRssMb())));
        }
        b.append('\n').append(report.recommendation().sentence(rows)).append('\n').append(Recommendation.RULE)
                .append('\n');
        return b.toString();
    }
}
