package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import dev.peftd.core.adapter.Adapter;
import dev.peftd.core.adapter.TrainableTensor;
import java.util.LinkedHashMap;
import java.util.Map;

/** What of an adapter a checkpoint must hold to resume it exactly. */
final class AdapterState {

    private AdapterState() {
    }

    static Map<String, NDArray> of(Adapter adapter) {
        Map<String, NDArray> state = new LinkedHashMap<>();
        for (TrainableTensor t : adapter.trainableTensors()) {
            state.put(t.name(), t.value());
        }
        return state;
    }

    static void load(Adapter adapter, Map<String, NDArray> saved) {
        for (TrainableTensor t : adapter.trainableTensors()) {
            NDArray src = saved.get(t.name());
            if (src == null) {
                throw new IllegalArgumentException("resume: adapter tensor '" + t.name() + "' is missing");
            }
            t.value().set(src.toFloatArray());
        }
    }
}
