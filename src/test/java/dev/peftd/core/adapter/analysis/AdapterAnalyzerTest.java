package dev.peftd.core.adapter.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.model.Linear;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AdapterAnalyzerTest {

    @Test
    void normsAndRanksMatchTheDenseDelta() {
        try (NDManager m = NDManager.newBaseManager()) {
            Random rnd = new Random(5);
            Map<String, Linear> model = Map.of("q", layer(m, rnd, "q", 20, 30));
            DeltaLoraConfig config = new DeltaLoraConfig(LoraConfig.of(3, 6, TargetModules.names(List.of("q"))), 2, 0);
            try (AbstractAdapter adapter = Adapters.create(config, model, 1)) {
                fill(adapter, rnd);
                adapter.afterOptimizerStep(1); // reference P_1
                fill(adapter, rnd);
                adapter.afterOptimizerStep(2);
                AdapterAnalysis analysis = AdapterAnalyzer.analyze(adapter, 10_000);
                ModuleChange c = analysis.modules().get(0);
                NDArray dw = adapter.deltaWeight("q");
                double dense = Math.sqrt(dw.square().sum().getFloat());
                assertThat(c.deltaNorm()).isCloseTo(dense, within(1e-4 * dense));
                assertThat(c.numericalRank()).isEqualTo(6); // rank 2r
                assertThat(c.singularValues()).hasSize(6);
                double w = Math.sqrt(model.get("q").weight().square().sum().getFloat());
                assertThat(c.relativeChange()).isCloseTo(dense / w, within(1e-4));
                assertThat(c.baseMovedNorm()).isNotNull().isGreaterThan(0.0);
                assertThat(analysis.trainableParams()).isEqualTo(3 * (20 + 30));
                assertThat(analysis.trainableShare()).isCloseTo(150 / 10_000.0, within(1e-12));
                assertThat(analysis.toTable()).contains("q").contains("|W_T-W0|_F");
            }
        }
    }

    static Linear layer(NDManager m, Random rnd, String name, int out, int in) {
        float[] v = new float[out * in];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        NDArray w = m.create(v, new Shape(out, in));
        return new Linear() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public NDArray weight() {
                return w;
            }

            @Override
            public NDArray bias() {
                return null;
            }
        };
    }

    static void fill(AbstractAdapter adapter, Random rnd) {
        for (TrainableTensor t : adapter.trainableTensors()) {
            float[] v = new float[(int) t.value().size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rnd.nextGaussian();
            }
            t.value().set(v);
        }
    }
}
