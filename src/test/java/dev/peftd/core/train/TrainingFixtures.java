package dev.peftd.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.train.data.TokenizedExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Shared set-up of the training tests: the runtime's tiny-llama fixture, adapters on it, token data. */
final class TrainingFixtures {

    static final List<String> ALL_PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    private TrainingFixtures() {
    }

    static LoraConfig lora(int r, double alpha, double dropout) {
        return new LoraConfig(r, alpha, dropout, false, TargetModules.names(ALL_PROJECTIONS), null, null);
    }

    static AbstractAdapter adapter(CausalLm model, AdapterConfig config, long seed) {
        return Adapters.create(config, model.linears(), seed);
    }

    /** Loads PEFT-keyed tensors (e.g. an {@code adapter_model.safetensors}) into an adapter. */
    static void loadState(AbstractAdapter adapter, Path safetensors) {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> state = Checkpoint.readTensors(safetensors, m);
            adapter.loadStateTensors(state);
        }
    }

    /** {@code count} random sequences of 8..24 tokens in [3, vocab); every other one trains only its second half. */
    static List<TokenizedExample> randomExamples(int vocab, int count, long seed) {
        Random random = new Random(seed);
        List<TokenizedExample> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = 8 + random.nextInt(17);
            int[] ids = new int[n];
            boolean[] trained = new boolean[n];
            for (int t = 0; t < n; t++) {
                ids[t] = 3 + random.nextInt(vocab - 3);
                trained[t] = i % 2 == 0 || t >= n / 2;
            }
            out.add(new TokenizedExample(ids, trained));
        }
        return out;
    }

    /** Records every step's report. */
    static final class Recorder implements TrainingListener {
        final List<StepReport> steps = new ArrayList<>();
        final List<double[]> evals = new ArrayList<>();

        @Override
        public void onStep(StepReport report) {
            steps.add(report);
        }

        @Override
        public void onEval(int step, Evaluation full) {
            evals.add(new double[] {step, full.loss()});
        }

        List<Double> losses() {
            return steps.stream().map(StepReport::loss).toList();
        }
    }
}
