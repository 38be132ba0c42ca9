package dev.peftd.comparison;

import dev.peftd.core.adapter.analysis.AdapterAnalysis;
import java.util.List;
import java.util.Map;

/**
 * One trained adapter of a comparison: one method at one seed, with what the report shows about it.
 *
 * @param adapterDir    the exported PEFT directory, relative to the report's directory (reports move; a service never
 *                      shows its own paths)
 * @param evalLossBefore mean next-token NLL over every eval token before training (the base model: B and VeRA's b
 *                      start at 0)
 * @param evalLoss      the same after training
 * @param evalCurve     eval loss at step 0, every few steps, and after the last step
 * @param stepSeconds   median wall time of an optimizer step (the first, which pays warm-up, left out)
 * @param peakRssMb     peak resident memory of the process during this run (NaN where not measured)
 * @param adapterBytes  size of the exported adapter weights file
 * @param settings      the method's resolved settings (what the run trained with)
 * @param analysis      what the adapter changed: ‖ΔW‖/‖W‖, effective rank and spectrum per module
 */
public record MethodRun(String method, long seed, String adapterDir, double evalLossBefore, double evalLoss,
                        List<CurvePoint> evalCurve, double stepSeconds, double peakRssMb, long adapterBytes,
                        Map<String, Object> settings, AdapterAnalysis analysis) {

    public MethodRun {
        evalCurve = List.copyOf(evalCurve);
        settings = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(settings));
    }

    /** Eval loss after {@code step} optimizer steps. */
    public record CurvePoint(int step, double loss) {
    }

    public long trainableParams() {
        return analysis.trainableParams();
    }
}
