package dev.peftd.core.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.SafetensorsFile;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Serving applies adapters unmerged on one shared base from many threads: a VeRA adapter (whose shared-projection memo
 * is per thread) and a LoRA adapter used concurrently give exactly the sequential logits, and the base is untouched.
 */
class ConcurrentAdapterTest {

    @Test
    void adaptersOnASharedBaseAreThreadSafe() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); CausalLm lm = ModelLoader.load(TestModels.tinyLlama());
             SafetensorsFile ref = SafetensorsFile.open(TestModels.tinyLlama().resolve("reference.safetensors"))) {
            NDArray ids = ref.load("input_ids", m);
            AbstractAdapter vera = Adapters.create(VeraConfig.of(16, TargetModules.allLinear()), lm.linears(), 0);
            AbstractAdapter lora = Adapters.create(LoraConfig.of(4, 8, TargetModules.allLinear()), lm.linears(), 3);
            RandomLinears.perturb(vera, 1, 0.5);
            RandomLinears.perturb(lora, 2, 0.2);
            float[] veraSeq = lm.forward(ids, null, vera).toFloatArray();
            float[] loraSeq = lm.forward(ids, null, lora).toFloatArray();
            float[] baseSeq = lm.forward(ids, null, null).toFloatArray();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    AbstractAdapter a = i % 3 == 0 ? vera : i % 3 == 1 ? lora : null;
                    float[] expected = i % 3 == 0 ? veraSeq : i % 3 == 1 ? loraSeq : baseSeq;
                    results.add(pool.submit(() -> {
                        JniUtils.setGradMode(false);
                        try (NDScope scope = new NDScope()) {
                            return java.util.Arrays.equals(lm.forward(ids, null, a).toFloatArray(), expected);
                        }
                    }));
                }
                for (Future<Boolean> f : results) {
                    assertThat(f.get()).isTrue();
                }
            } finally {
                pool.shutdown();
                vera.close();
                lora.close();
            }
        }
    }
}
