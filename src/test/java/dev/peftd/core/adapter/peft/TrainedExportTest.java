package dev.peftd.core.adapter.peft;

import static dev.peftd.core.adapter.peft.AdapterFixtures.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.AdapterConfig;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.LoraFaConfig;
import dev.peftd.core.adapter.LoraPlusConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.adapter.VeraConfig;
import dev.peftd.core.adapter.deltalora.DeltaLoraAdapter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters trained here (a few SGD steps on the LM loss of a tiny model, so that every tensor moved and Delta-LoRA's
 * base follows) export to PEFT directories that load back with the adapter's own logits — including Delta-LoRA as its
 * rank-2r LoRA on the original base and VeRA as PEFT VeRA.
 *
 * <p>With {@code -Dpeftd.exportCheckDir=DIR} the directories and {@code peftd_logits.safetensors} are kept in DIR for
 * {@code tools/reference/check_peftd_exports.py}, which loads them in PEFT.
 */
class TrainedExportTest {

    private static final int STEPS = 4;

    @TempDir
    Path tmp;

    /** One exported adapter: a directory name, the base model, the method config and the export form. */
    record Case(String name, Path model, AdapterConfig config, boolean veraAsLora) {
    }

    static List<Case> cases() {
        LoraConfig lora = LoraConfig.withPatterns(4, 8, 0.0, false, TargetModules.allLinear(),
                Map.of("down_proj", 2), Map.of("q_proj", 16.0));
        TargetModules qvDown = TargetModules.names(List.of("q_proj", "v_proj", "down_proj"));
        Path llama = TestModels.tinyLlama();
        return List.of(
                new Case("lora", llama, lora, false),
                new Case("lora_fa", llama, new LoraFaConfig(lora.withRslora(true), false), false),
                new Case("lora_plus", llama, new LoraPlusConfig(lora, 16), false),
                new Case("delta_lora", llama, new DeltaLoraConfig(lora, 2, 1), false),
                new Case("vera", llama, new VeraConfig(16, 0.1, 7, true, 0.0, qvDown), false),
                new Case("vera_noproj", llama, new VeraConfig(16, 0.1, 8, false, 0.0, qvDown), false),
                new Case("vera_as_lora", llama, new VeraConfig(16, 0.1, 9, true, 0.0, qvDown), true),
                new Case("gpt2_delta_lora", TestModels.tinyGpt2(), new DeltaLoraConfig(
                        LoraConfig.of(4, 8, TargetModules.names(List.of("c_attn", "c_fc"))), 2, 0), false),
                new Case("gpt2_vera", TestModels.tinyGpt2(), new VeraConfig(8, 0.1, 3, true, 0.0,
                        TargetModules.allLinear()), false));
    }

    @Test
    void everyMethodExportsToAPeftDirectoryWithItsOwnLogits() throws Exception {
        String keep = System.getProperty("peftd.exportCheckDir");
        Path root = keep != null ? Path.of(keep) : tmp;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray ids = AdapterFixtures.load(TestModels.tinyLlama().resolve("reference.safetensors"), m)
                    .get("input_ids");
            Map<String, NDArray> logits = new LinkedHashMap<>();
            logits.put("input_ids", ids);
            for (Case c : cases()) {
                try (CausalLm lm = ModelLoader.load(c.model());
                     AbstractAdapter adapter = Adapters.create(c.config(), lm.linears(), 17)) {
                    float[] losses = train(lm, adapter, ids);
                    assertThat(losses[STEPS - 1]).as(c.name()).isLessThan(losses[0]);
                    if (adapter instanceof DeltaLoraAdapter delta) {
                        assertThat(delta.hasReference()).isTrue();
                    }
                    adapter.setTraining(false);
                    NDArray ours = lm.forward(ids, null, adapter);
                    ours.attach(m);
                    Path dir = root.resolve(c.name());
                    AdapterExport.write(adapter, c.model().toString(), c.model(), lm.config(), dir, Map.of("final_loss", losses[STEPS - 1]),
                            c.veraAsLora());
                    try (AbstractAdapter again = PeftImporter.load(dir, lm.linears())) {
                        float diff = maxAbsDiff(lm.forward(ids, null, again), ours);
                        System.out.printf("export %-16s reloaded max|Δlogits| = %.3g (%d trainable, loss %.4f → %.4f)%n",
                                c.name(), diff, adapter.trainableParameterCount(), losses[0], losses[STEPS - 1]);
                        assertThat(diff).as(c.name()).isLessThanOrEqualTo(1e-5f);
                    }
                    JsonObject sidecar = PeftdSidecar.read(dir);
                    assertThat(sidecar.get("method").getAsString()).isEqualTo(c.config().method().id());
                    assertThat(sidecar.getAsJsonObject("base_model").get("checksum").getAsString())
                            .isEqualTo(ModelChecksum.of(c.model())).startsWith("sha256:");
                    assertThat(sidecar.getAsJsonObject("analysis").getAsJsonArray("modules")).isNotEmpty();
                    String config = Files.readString(dir.resolve(PeftConfigJson.FILE));
                    assertThat(config).doesNotContain("delta").doesNotContain("loraplus");
                    logits.put(c.name(), ours);
                }
            }
            if (keep != null) {
                SafetensorsWriter.write(root.resolve("peftd_logits.safetensors"), logits, Map.of("format", "pt"));
            }
        }
    }

    /** Plain SGD on next-token cross-entropy (lr 0.05; VeRA's vectors 2.0, it needs a far larger rate). */
    static float[] train(CausalLm lm, AbstractAdapter adapter, NDArray ids) {
        adapter.setTraining(true);
        float[] losses = new float[STEPS];
        List<TrainableTensor> params = adapter.trainableTensors();
        for (int step = 0; step < STEPS; step++) {
            try (NDScope scope = new NDScope()) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray logits = lm.forward(ids, null, adapter);                  // [B, T, V]
                    NDArray logp = logits.get(":, :-1, :").logSoftmax(-1);
                    NDArray target = ids.get(":, 1:").expandDims(-1);                // [B, T-1, 1]
                    NDArray loss = logp.gather(target, -1).neg().mean();
                    gc.backward(loss);
                    losses[step] = loss.getFloat();
                }
                JniUtils.setGradMode(false);
                for (TrainableTensor t : params) {
                    NDArray g = t.value().getGradient();
                    t.value().subi(g.mul(t.role() == TrainableTensor.Role.VERA_VECTOR ? 2.0 : 0.05));
                    g.close();
                    JniUtils.zeroGrad((PtNDArray) t.value());
                }
                adapter.afterOptimizerStep(step + 1);
            }
        }
        return losses;
    }
}
