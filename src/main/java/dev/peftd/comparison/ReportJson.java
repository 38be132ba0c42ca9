package dev.peftd.comparison;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code report.json}: the setup, one row per run, one summary per method, and the recommendation with its rule. */
final class ReportJson {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
            .serializeNulls().create();

    private ReportJson() {
    }

    static String of(ComparisonReport report) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", report.model());
        m.put("training_file", report.trainingFile());
        m.put("eval_file", report.evalFile());
        m.put("budget", report.budget());
        List<Map<String, Object>> rows = new ArrayList<>();
        report.runs().forEach(r -> rows.add(row(r)));
        m.put("rows", rows);
        List<Map<String, Object>> methods = new ArrayList<>();
        List<MethodSummary> summaries = report.summaries();
        summaries.forEach(s -> methods.add(summary(s)));
        m.put("methods", methods);
        Recommendation rec = report.recommendation();
        Map<String, Object> advice = new LinkedHashMap<>();
        advice.put("method", rec.method());
        advice.put("best_eval_loss", rec.best());
        advice.put("within_seed_spread", rec.equivalents());
        advice.put("rule", Recommendation.RULE);
        advice.put("text", rec.sentence(summaries));
        m.put("recommendation", advice);
        return GSON.toJson(m);
    }

    static Map<String, Object> row(MethodRun r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", r.method());
        m.put("seed", r.seed());
        m.put("adapter_dir", r.adapterDir());
        m.put("trainable_params", r.trainableParams());
        m.put("trainable_share", r.analysis().trainableShare());
        m.put("eval_loss_before", r.evalLossBefore());
        m.put("eval_loss", r.evalLoss());
        List<Map<String, Object>> curve = new ArrayList<>();
        r.evalCurve().forEach(p -> curve.add(Map.of("step", p.step(), "eval_loss", p.loss())));
        m.put("eval_loss_curve", curve);
        m.put("step_seconds", r.stepSeconds());
        m.put("peak_rss_mb", r.peakRssMb());
        m.put("adapter_bytes", r.adapterBytes());
        m.put("settings", r.settings());
        m.put("analysis", r.analysis().toJson());
        return m;
    }

    private static Map<String, Object> summary(MethodSummary s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", s.method());
        m.put("seeds", s.runs().stream().map(MethodRun::seed).toList());
        m.put("trainable_params", s.trainableParams());
        m.put("trainable_share", s.trainableShare());
        m.put("adapter_bytes", s.adapterBytes());
        m.put("eval_loss_before", s.evalLossBeforeMean());
        m.put("eval_loss_mean", s.evalLossMean());
        m.put("eval_loss_std", s.evalLossStd());
        m.put("step_seconds", s.stepSecondsMean());
        m.put("peak_rss_mb", s.peakRssMb());
        return m;
    }
}
