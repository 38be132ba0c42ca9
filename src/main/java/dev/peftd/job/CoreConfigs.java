package dev.peftd.job;

import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.train.TrainingConfig;
import java.util.Collection;

/**
 * A job's {@link TrainingMethod} as the training core's configurations, resolved by the core's
 * {@link dev.peftd.core.train.MethodSettings} (which owns the names, defaults and ranges).
 */
public final class CoreConfigs {

    private CoreConfigs() {
    }

    public static AdapterConfig adapter(TrainingMethod method) {
        return method.settings(0).adapter();
    }

    public static TrainingConfig training(TrainingMethod method, long seed) {
        return method.settings(seed).training();
    }

    public static int maxSeqLength(TrainingMethod method) {
        return method.settings(0).maxSeqLength();
    }

    /**
     * What only submission checks: a {@code target_modules} regex is evaluated on the model's (or typical) module names within its
     * step budget ({@code UserRegex}), so a catastrophic one is refused here instead of hanging the worker that
     * applies it. The refusal names the hyperparameter's JSON path.
     */
    static void check(TrainingMethod method, long seed) {
        check(method, seed, null);
    }

    /** @param modules the base model's module names, or {@code null} when they cannot be read (typical names then) */
    static void check(TrainingMethod method, long seed, Collection<String> modules) {
        try {
            TargetModules targets = method.settings(seed).adapter().targetModules();
            if (modules == null) {
                targets.requireEvaluable();
            } else {
                targets.requireEvaluable(modules);
            }
        } catch (InvalidSettingException e) {
            throw e.at("method." + method.type() + ".hyperparameters." + e.field());
        }
    }
}
