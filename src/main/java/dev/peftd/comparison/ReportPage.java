package dev.peftd.comparison;

import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * {@code report.html}: one self-contained page. The pictures are inlined as {@code data:} URIs (the page can be
 * mailed or served as one response) and are also written beside it under {@code pictures/}. Every string that
 * came from a user (model, file names) is HTML-escaped.
 */
final class ReportPage {

    private ReportPage() {
    }

    static String of(ComparisonReport report, List<ReportCharts.Picture> pictures) {
        List<MethodSummary> rows = report.summaries();
        Recommendation rec = report.recommendation();
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>peftd comparison: ")
                .append(escape(report.model())).append("</title>\n<style>")
                .append("body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em}")
                .append("table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}")
                .append("td:first-child,th:first-child{text-align:left}.advice{background:#eef6ee;padding:1em}")
                .append("img{max-width:100%}</style></head><body>\n");
        h.append("<h1>Which method for this data?</h1>\n<p>Base model <code>").append(escape(report.model()))
                .append("</code>, trained on <code>").append(escape(report.trainingFile()))
                .append("</code>, evaluated on <code>").append(escape(report.evalFile())).append("</code>. Budget: ")
                .append(escape(report.budget().toString())).append(". Every method saw the same batches in the same"
                        + " order for a given seed.</p>\n");
        h.append("<div class=\"advice\"><p><strong>").append(escape(rec.sentence(rows))).append("</strong></p><p>")
                .append(escape(Recommendation.RULE)).append("</p></div>\n");
        table(h, rows);
        for (ReportCharts.Picture p : pictures) {
            h.append("<figure><img src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(p.png()))
                    .append("\" alt=\"").append(escape(p.caption())).append("\" data-file=\"pictures/")
                    .append(escape(p.file())).append("\"><figcaption>").append(escape(p.caption()))
                    .append("</figcaption></figure>\n");
        }
        h.append("<p>Eval loss is the mean next-token negative log-likelihood over every token of the evaluation"
                + " file, each record encoded as training encodes it. Numbers in report.json.</p>\n</body></html>\n");
        return h.toString();
    }

    private static void table(StringBuilder h, List<MethodSummary> rows) {
        h.append("<table id=\"methods\"><thead><tr><th>method</th><th>trainable params</th><th>share of model</th>"
                + "<th>adapter size</th><th>eval loss before</th><th>eval loss after (± sd over seeds)</th>"
                + "<th>seeds</th><th>time / step</th><th>peak memory</th></tr></thead>\n<tbody>\n");
        for (MethodSummary s : rows) {
            h.append("<tr><td>").append(escape(s.method())).append("</td>")
                    .append(cell("%,d", s.trainableParams()))
                    .append(cell("%.3f%%", 100 * s.trainableShare()))
                    .append(cell("%.1f KiB", s.adapterBytes() / 1024.0))
                    .append(cell("%.4f", s.evalLossBeforeMean()))
                    .append(cell("%.4f ± %.4f", s.evalLossMean(), s.evalLossStd()))
                    .append(cell("%d", s.runs().size()))
                    .append(cell("%.3f s", s.stepSecondsMean()))
                    .append(cell("%s", MethodSummary.memory(s.peakRssMb()))).append("</tr>\n");
        }
        h.append("</tbody></table>\n");
    }

    private static String cell(String format, Object... values) {
        return "<td>" + escape(String.format(Locale.ROOT, format, values)) + "</td>";
    }

    /** Text for HTML element content and double-quoted attributes. */
    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
