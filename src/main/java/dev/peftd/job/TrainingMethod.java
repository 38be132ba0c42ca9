package dev.peftd.job;

import dev.peftd.core.adapter.Method;
import dev.peftd.core.train.MethodSettings;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a job trains, as stored in JSON on the job row and shown under {@code method}: the method's id
 * ({@link Method#id()}) and its resolved settings by name ({@link MethodSettings#values()}), which resolve again to
 * the same configurations when the worker runs the job.
 *
 * @param requestedType the {@code method.type} the request gave, shown back as given: OpenAI's {@code supervised}
 *                      (which trains {@code lora}) or a method id; null on rows stored before it was recorded
 */
public record TrainingMethod(String type, Map<String, Object> hyperparameters, String requestedType) {

    public TrainingMethod {
        Method.fromId(type);
        hyperparameters = Collections.unmodifiableMap(new LinkedHashMap<>(hyperparameters));
    }

    public Method method() {
        return Method.fromId(type);
    }

    /** The {@code method.type} to show: the one asked for. */
    String shownType() {
        return requestedType == null ? type : requestedType;
    }

    /** The adapter and training configurations, through the core's one factory. */
    public MethodSettings settings(long seed) {
        return MethodSettings.resolve(method(), hyperparameters, seed);
    }
}
