package dev.peftd.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.train.data.Batch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The training backward (the head a few token rows at a time, then the body layer by layer) gives the loss and
 * adapter gradients of one plain backward through the full logits.
 */
class ChunkedLossTest {

    static Stream<Arguments> methods() {
        return Stream.of(ModelDtype.FLOAT32, ModelDtype.BFLOAT16).flatMap(dtype -> configs().map(
                config -> Arguments.of(config, dtype)));
    }

    private static Stream<AdapterConfig> configs() {
        return Stream.of(TrainingFixtures.lora(4, 8, 0.0),
                // an adapted output head takes the autograd path through the head (a frozen head has its own)
                new LoraConfig(4, 8, 0.0, false, TargetModules.names(List.of("q_proj", "lm_head")), null, null),
                // VeRA trains through merged weights in a segmented pass (MergedTrainingPass): the plain backward
                // below takes the factored branch, so this compares the two
                VeraConfig.of(16, TargetModules.names(TrainingFixtures.ALL_PROJECTIONS)));
    }

    @ParameterizedTest
    @MethodSource("methods")
    void chunkedSegmentedBackwardEqualsOneBackwardThroughTheFullLogits(AdapterConfig config, ModelDtype dtype)
            throws Exception {
        // bf16: the frozen head's logits and input gradient come from float32 GEMMs on the upcast weight, the plain
        // backward's from the half GEMM; both round once, so they differ where summation order moves a rounding
        boolean half = dtype != ModelDtype.FLOAT32;
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), dtype);
             NDManager manager = NDManager.newBaseManager();
             AbstractAdapter adapter = TrainingFixtures.adapter(model, config, 3)) {
            perturb(adapter, manager); // LoRA's B = 0 and VeRA's b = 0 at init would leave the other factor's gradient zero
            adapter.setTraining(true);
            Batch batch = new Batch(TrainingFixtures.randomExamples(model.config().vocabSize(), 3, 11), 0);
            NDArray ids = batch.inputIds(manager);
            NDArray targets = batch.targets(manager);
            NDArray weights = batch.weights(manager);
            NDArray denominator = manager.create((float) batch.lossTokens());
            long vocab = model.config().vocabSize();

            JniUtils.setGradMode(true);
            double chunkedLoss;
            double plainLoss;
            Map<String, float[]> chunked;
            try {
                // 5 rows per chunk: the 3 sequences' rows span several chunks, the last one partial
                chunkedLoss = ChunkedLoss.forwardBackward(model, adapter, ids, targets, weights, denominator, 5 * vocab)
                        .loss();
                chunked = gradientsThenZero(adapter);
                try (NDScope ignored = new NDScope()) {
                    NDArray logits = model.forward(ids, null, adapter); // [B, T, V]
                    NDArray loss = CausalLmLoss.summedNll(logits, targets, weights).div(denominator);
                    JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
                    plainLoss = loss.getFloat();
                }
            } finally {
                JniUtils.setGradMode(false);
            }
            Map<String, float[]> plain = gradientsThenZero(adapter);

            assertThat(ids.getShape().size()).as("token rows").isGreaterThan(10);
            assertThat(chunkedLoss).isCloseTo(plainLoss, within(half ? 1e-4 : 1e-5));
            for (String key : plain.keySet()) {
                float[] expected = plain.get(key);
                float[] actual = chunked.get(key);
                float scale = 0;
                float maxDiff = 0;
                for (int i = 0; i < expected.length; i++) {
                    scale = Math.max(scale, Math.abs(expected[i]));
                    maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
                }
                assertThat(scale).as(key + " gradient is not all zero").isGreaterThan(0f);
                assertThat(maxDiff).as(key).isLessThan(half ? 2e-2f * scale : 1e-5f * Math.max(1f, scale));
            }
        }
    }

    @Test
    void aFrozenHalfHeadKeepsTheLogitsOutOfAutograd() throws Exception {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu(), ModelDtype.BFLOAT16);
             AbstractAdapter adapter = TrainingFixtures.adapter(model, TrainingFixtures.lora(4, 8, 0.0), 3)) {
            assertThat(model.linears().get("lm_head").halfPrecision()).isTrue();
            assertThat(ChunkedLoss.frozenHead(model, adapter)).as("the half head's autograd-free path").isNotNull();
        }
    }

    private static void perturb(AbstractAdapter adapter, NDManager manager) {
        for (TrainableTensor t : adapter.trainableTensors()) {
            try (NDArray noise = manager.randomNormal(0, 0.1f, t.value().getShape(), t.value().getDataType())) {
                t.value().addi(noise);
            }
        }
    }

    private static Map<String, float[]> gradientsThenZero(AbstractAdapter adapter) {
        Map<String, float[]> grads = new LinkedHashMap<>();
        for (TrainableTensor t : adapter.trainableTensors()) {
            try (NDArray g = t.value().getGradient()) {
                grads.put(t.name(), g.toFloatArray());
            }
            JniUtils.zeroGrad((PtNDArray) t.value());
        }
        return grads;
    }
}
