package dev.peftd.comparison;

import dev.peftd.core.adapter.analysis.ModuleChange;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's pictures, drawn by XChart as PNG: eval-loss curves, quality against trainable parameters, heat maps
 * of ‖ΔW‖/‖W‖ and effective rank per module and method, and each method's singular-value spectra of ΔW. Values over
 * seeds are averaged (curves point by point, analysis module by module).
 */
final class ReportCharts {

    /** A picture: its file name (under {@code pictures/}), what it shows, and the PNG. */
    record Picture(String file, String caption, byte[] png) {
    }

    private static final int WIDTH = 900;

    private ReportCharts() {
    }

    static List<Picture> draw(ComparisonReport report) {
        // drawn off-screen: servers and CI have no display, and AWT reads this before its first use
        System.setProperty("java.awt.headless", "true");
        List<MethodSummary> rows = report.summaries();
        List<Picture> pictures = new ArrayList<>();
        pictures.add(png("loss_curves.png", "Eval loss during training (mean over seeds)", lossCurves(rows)));
        pictures.add(png("quality_vs_params.png", "Eval loss after training against trainable parameters"
                + " (error bars: standard deviation over seeds)", qualityVsParams(rows)));
        pictures.add(png("relative_change_heatmap.png", "‖ΔW‖/‖W‖ per module (mean over seeds)",
                heatMap(rows, "‖ΔW‖ / ‖W‖", ModuleChange::relativeChange)));
        pictures.add(png("effective_rank_heatmap.png", "Effective rank of ΔW per module (mean over seeds)",
                heatMap(rows, "effective rank of ΔW", ModuleChange::effectiveRank)));
        for (MethodSummary row : rows) {
            pictures.add(png("spectra_" + row.method() + ".png", "Singular values of ΔW, " + row.method()
                    + " (one line per module, mean over seeds)", spectra(row)));
        }
        return pictures;
    }

    private static Picture png(String file, String caption, Chart<?, ?> chart) {
        try {
            return new Picture(file, caption, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + file, e);
        }
    }

    private static XYChart lossCurves(List<MethodSummary> rows) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(500).title("Eval loss during training")
                .xAxisTitle("optimizer step").yAxisTitle("eval loss (mean next-token NLL)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        for (MethodSummary row : rows) {
            List<MethodRun.CurvePoint> first = row.runs().get(0).evalCurve();
            double[] steps = new double[first.size()];
            double[] loss = new double[first.size()];
            for (int i = 0; i < first.size(); i++) {
                steps[i] = first.get(i).step();
                int at = i;
                loss[i] = row.runs().stream().mapToDouble(r -> r.evalCurve().get(at).loss()).average().orElseThrow();
            }
            chart.addSeries(row.method(), steps, loss).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    private static XYChart qualityVsParams(List<MethodSummary> rows) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(500).title("Quality against trainable parameters")
                .xAxisTitle("trainable parameters (log scale)").yAxisTitle("eval loss after training").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setMarkerSize(12);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        // whole decades at both ends, so the log axis always has labelled ticks
        double least = rows.stream().mapToLong(MethodSummary::trainableParams).min().orElse(1);
        double most = rows.stream().mapToLong(MethodSummary::trainableParams).max().orElse(10);
        chart.getStyler().setXAxisMin(Math.pow(10, Math.floor(Math.log10(Math.max(1, least)))));
        chart.getStyler().setXAxisMax(Math.pow(10, Math.ceil(Math.log10(Math.max(10, most * 1.0001)))));
        chart.getStyler().setXAxisDecimalPattern("#,###");
        for (MethodSummary row : rows) {
            chart.addSeries(row.method(), new double[] {row.trainableParams()}, new double[] {row.evalLossMean()},
                    new double[] {row.evalLossStd()});
        }
        return chart;
    }

    /** Rows: modules (layer and projection); columns: methods; colour: the metric, averaged over seeds. */
    private static HeatMapChart heatMap(List<MethodSummary> rows, String metric, ToDoubleFunction<ModuleChange> value) {
        Set<String> modules = new LinkedHashSet<>();
        for (MethodSummary row : rows) {
            row.runs().get(0).analysis().modules().forEach(c -> modules.add(c.module()));
        }
        List<String> moduleList = List.copyOf(modules);
        List<String> methods = rows.stream().map(MethodSummary::method).toList();
        List<Number[]> cells = new ArrayList<>();
        for (int x = 0; x < rows.size(); x++) {
            Map<String, Double> mean = meanPerModule(rows.get(x), value);
            for (int y = 0; y < moduleList.size(); y++) {
                Double v = mean.get(moduleList.get(y));
                if (v != null && Double.isFinite(v)) {
                    cells.add(new Number[] {x, y, v});
                }
            }
        }
        HeatMapChart chart = new HeatMapChartBuilder().width(WIDTH).height(Math.max(400, 120 + 18 * moduleList.size()))
                .title(metric + " per module").xAxisTitle("method").yAxisTitle("module").build();
        chart.getStyler().setShowValue(true);
        chart.getStyler().setHeatMapValueDecimalPattern("0.###");
        chart.getStyler().setLegendVisible(true);
        chart.addSeries(metric, methods, moduleList.stream().map(ReportCharts::shortName).toList(), cells);
        return chart;
    }

    private static Map<String, Double> meanPerModule(MethodSummary row, ToDoubleFunction<ModuleChange> value) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        for (MethodRun run : row.runs()) {
            for (ModuleChange c : run.analysis().modules()) {
                double[] s = sums.computeIfAbsent(c.module(), m -> new double[2]);
                s[0] += value.applyAsDouble(c);
                s[1]++;
            }
        }
        Map<String, Double> mean = new LinkedHashMap<>();
        sums.forEach((m, s) -> mean.put(m, s[0] / s[1]));
        return mean;
    }

    private static XYChart spectra(MethodSummary row) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(450).title("Singular values of ΔW: " + row.method())
                .xAxisTitle("index i").yAxisTitle("σ_i (log scale)").build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setMarkerSize(3);
        boolean any = false;
        for (ModuleChange first : row.runs().get(0).analysis().modules()) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int i = 0; i < first.singularValues().length; i++) {
                int at = i;
                double s = row.runs().stream().mapToDouble(r -> singularValue(r, first.module(), at)).average()
                        .orElse(Double.NaN);
                if (s > 0) {
                    xs.add((double) i + 1);
                    ys.add(s);
                }
            }
            if (!xs.isEmpty()) {
                chart.addSeries(shortName(first.module()), xs, ys);
                any = true;
            }
        }
        // A log axis over no positive value has no range: an untrained adapter (ΔW = 0) gets a linear empty plot.
        chart.getStyler().setYAxisLogarithmic(any);
        return chart;
    }

    private static double singularValue(MethodRun run, String module, int i) {
        for (ModuleChange c : run.analysis().modules()) {
            if (c.module().equals(module)) {
                return i < c.singularValues().length ? c.singularValues()[i] : Double.NaN;
            }
        }
        return Double.NaN;
    }

    /** {@code model.layers.3.self_attn.q_proj} → {@code 3.q_proj}: the layer and the projection is what differs. */
    static String shortName(String module) {
        String[] parts = module.split("\\.");
        String layer = null;
        for (int i = 0; i + 1 < parts.length; i++) {
            if (parts[i].equals("layers") || parts[i].equals("h")) {
                layer = parts[i + 1];
            }
        }
        String last = parts[parts.length - 1];
        return layer == null ? module : layer + "." + last;
    }
}
