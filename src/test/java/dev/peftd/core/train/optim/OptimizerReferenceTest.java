package dev.peftd.core.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.peftd.core.adapter.TrainableTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** AdamW, LoRA-FA projection and clipping against torch (fixtures/training/optim.json). */
class OptimizerReferenceTest {

    private static JsonObject fixture;
    private NDManager manager;

    @BeforeAll
    static void load() {
        Engine.getInstance();
        fixture = Fixtures.load("optim.json");
    }

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
        JniUtils.setGradMode(false);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray leaf(float[] values, long[] shape) {
        NDArray p = manager.create(values, new Shape(shape));
        p.setRequiresGradient(true);
        return p;
    }

    /** Makes {@code p.grad == g} (the previous gradient was zeroed by the optimizer). */
    private void setGradient(NDArray p, float[] g) {
        try (NDArray grad = manager.create(g, p.getShape())) {
            JniUtils.backward((PtNDArray) p, (PtNDArray) grad, false, false);
        }
    }

    @Test
    void adamWWithTwoGroupsMatchesTorchEveryStep() {
        JsonObject f = fixture.getAsJsonObject("adamw");
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (String name : f.getAsJsonObject("shapes").keySet()) {
            params.put(name, leaf(Fixtures.floats(f.getAsJsonObject("init").get(name)),
                    Fixtures.longs(f.getAsJsonObject("shapes").get(name))));
        }
        List<ParamGroup> groups = new ArrayList<>();
        for (JsonElement g : f.getAsJsonArray("groups")) {
            JsonObject group = g.getAsJsonObject();
            List<TrainableTensor> tensors = new ArrayList<>();
            group.getAsJsonArray("names").forEach(n -> tensors.add(new TrainableTensor(n.getAsString(),
                    params.get(n.getAsString()), TrainableTensor.Role.LORA_A)));
            groups.add(new ParamGroup("g" + groups.size(), tensors, group.get("lr").getAsDouble(),
                    group.get("weight_decay").getAsDouble()));
        }
        float[] multipliers = Fixtures.floats(f.get("multipliers"));
        try (AdamW adamW = new AdamW(groups, AdamW.Betas.TORCH_DEFAULT)) {
            for (int step = 0; step < f.getAsJsonArray("grads").size(); step++) {
                JsonObject grads = f.getAsJsonArray("grads").get(step).getAsJsonObject();
                params.forEach((name, p) -> setGradient(p, Fixtures.floats(grads.get(name))));
                adamW.step(multipliers[step]);
                JsonObject expected = f.getAsJsonArray("after").get(step).getAsJsonObject();
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    assertThat(e.getValue().toFloatArray())
                            .as("step %d tensor %s", step, e.getKey())
                            .containsExactly(Fixtures.floats(expected.get(e.getKey())), within(2e-6f));
                }
            }
            assertThat(adamW.completedSteps()).isEqualTo(6);
            // the optimizer consumed and zeroed each gradient
            assertThat(JniUtils.getGradient((PtNDArray) params.get("a")).abs().sum().getFloat()).isZero();
        }
    }

    @Test
    void loraFaProjectionMatchesPeftFormula() {
        JsonObject f = fixture.getAsJsonObject("lorafa");
        NDArray a = manager.create(Fixtures.floats(f.get("a")), new Shape(3, 7));
        NDArray b = leaf(Fixtures.floats(f.get("b")), new long[] {5, 3});
        TrainableTensor.FrozenA frozen = new TrainableTensor.FrozenA(a, f.get("scaling").getAsDouble());
        NDArray projected = LoraFaProjection.project(manager.create(Fixtures.floats(f.get("grad_b")), new Shape(5, 3)), frozen);
        assertThat(projected.toFloatArray()).containsExactly(Fixtures.floats(f.get("projected")), within(1e-4f));

        TrainableTensor tb = new TrainableTensor("m.lora_B.weight", b, TrainableTensor.Role.LORA_B, frozen);
        try (AdamW adamW = new AdamW(ParamGroups.single(List.of(tb), f.get("lr").getAsDouble(), 0.0),
                AdamW.Betas.TORCH_DEFAULT)) {
            setGradient(b, Fixtures.floats(f.get("grad_b")));
            adamW.step(1.0);
        }
        assertThat(b.toFloatArray()).containsExactly(Fixtures.floats(f.get("b_after")), within(1e-5f));
    }

    @Test
    void clipGradNormMatchesTorch() {
        for (JsonElement c : fixture.getAsJsonArray("clip")) {
            JsonObject f = c.getAsJsonObject();
            List<NDArray> grads = new ArrayList<>();
            for (int i = 0; i < f.getAsJsonArray("grads").size(); i++) {
                grads.add(manager.create(Fixtures.floats(f.getAsJsonArray("grads").get(i)),
                        new Shape(Fixtures.longs(f.getAsJsonArray("shapes").get(i)))));
            }
            double total = GradClipping.clip(grads, f.get("max_norm").getAsDouble());
            assertThat(total).isCloseTo(f.get("total_norm").getAsDouble(), within(1e-5));
            for (int i = 0; i < grads.size(); i++) {
                assertThat(grads.get(i).toFloatArray())
                        .containsExactly(Fixtures.floats(f.getAsJsonArray("clipped").get(i)), within(1e-6f));
            }
        }
    }

    @Test
    void schedulesMatchTransformers() {
        for (JsonElement s : fixture.getAsJsonArray("schedules")) {
            JsonObject f = s.getAsJsonObject();
            LrSchedule schedule = new LrSchedule(LrSchedule.Kind.parse(f.get("kind").getAsString()),
                    f.get("warmup").getAsInt(), f.get("total").getAsInt());
            float[] lrs = Fixtures.floats(f.get("lrs"));
            for (int step = 0; step < lrs.length; step++) {
                assertThat(schedule.multiplier(step)).as("%s step %d", f, step).isCloseTo(lrs[step], within(1e-7));
            }
        }
    }

    @Test
    void loraPlusPutsBAndVectorsInTheFastGroup() {
        TrainableTensor a = new TrainableTensor("m.lora_A.weight", manager.zeros(new Shape(2, 3)), TrainableTensor.Role.LORA_A);
        TrainableTensor b = new TrainableTensor("m.lora_B.weight", manager.zeros(new Shape(3, 2)), TrainableTensor.Role.LORA_B);
        TrainableTensor v = new TrainableTensor("m.vera_lambda_b", manager.zeros(new Shape(3)), TrainableTensor.Role.VERA_VECTOR);
        List<ParamGroup> groups = ParamGroups.loraPlus(List.of(a, b, v), 1e-3, 16, 0.1);
        assertThat(groups.get(0).tensors()).containsExactly(a);
        assertThat(groups.get(0).lr()).isEqualTo(1e-3);
        assertThat(groups.get(1).tensors()).containsExactly(b, v);
        assertThat(groups.get(1).lr()).isEqualTo(16e-3);
        assertThat(groups).allSatisfy(g -> assertThat(g.weightDecay()).isEqualTo(0.1));
    }
}
