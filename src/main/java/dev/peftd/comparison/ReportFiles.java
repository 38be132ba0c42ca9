package dev.peftd.comparison;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a report to a directory: {@code report.json}, {@code report.html} (self-contained: pictures inlined) and the
 * same pictures as PNG files under {@code pictures/}.
 */
public final class ReportFiles {

    public static final String JSON = "report.json";
    public static final String HTML = "report.html";
    public static final String PICTURES = "pictures";

    private ReportFiles() {
    }

    public static void write(ComparisonReport report, Path dir) throws IOException {
        Files.createDirectories(dir.resolve(PICTURES));
        Files.writeString(dir.resolve(JSON), ReportJson.of(report), StandardCharsets.UTF_8);
        List<ReportCharts.Picture> pictures = ReportCharts.draw(report);
        for (ReportCharts.Picture p : pictures) {
            Files.write(dir.resolve(PICTURES).resolve(p.file()), p.png());
        }
        Files.writeString(dir.resolve(HTML), ReportPage.of(report, pictures), StandardCharsets.UTF_8);
    }

    /** The page alone, for a service that answers with it rather than writing files. */
    public static String html(ComparisonReport report) {
        return ReportPage.of(report, ReportCharts.draw(report));
    }
}
