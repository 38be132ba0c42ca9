package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.peft.PeftImporter;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.LinearLayer;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.NoGrad;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A forward pass an adapter has to itself runs its small modules through a merged weight {@code W + left·right}
 * (one GEMM instead of the base GEMM, two thin matmuls and an add), equal to the factored output within float
 * rounding; a module whose merged weight would be more than eight times its factors stays factored, and the adapter
 * counts the merged weights it may build in its bytes.
 */
class FactoredAdapterTest {

    @Test
    void smallModulesGoThroughAMergedWeightThatEqualsTheFactoredOutput() throws Exception {
        try (NoGrad ignored = NoGrad.enter(); NDManager manager = NDManager.newBaseManager();
             CausalLm model = ModelLoader.load(TestModels.tinyLlama());
             AbstractAdapter source = PeftImporter.load(ServingFixtures.adapterDir("llama-lora"), model.linears());
             FactoredAdapter adapter = FactoredAdapter.fromAdapter(source)) {
            manager.getEngine().setRandomSeed(3);
            Set<String> merged = new HashSet<>();
            Set<String> factored = new HashSet<>();
            long mergedBytes = 0;
            for (String module : adapter.modules()) {
                LinearLayer layer = (LinearLayer) model.linears().get(module);
                NDArray[] f = adapter.lowRank(module); // {left [out, k], right [k, in]}
                long out = layer.outFeatures();
                long in = layer.inFeatures();
                long rank = f[1].getShape().get(0);
                NDArray x = manager.randomNormal(0, 1, new Shape(2, 3, in), DataType.FLOAT32); // [2, 3, in]
                float[] want = adapter.apply(module, x, layer.baseOutput(x)).toFloatArray();  // [2, 3, out]
                for (int call = 0; call < 2; call++) { // the second reuses the merged weight the first built
                    float[] got = adapter.output(layer, x).toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertThat(Math.abs(got[i] - want[i])).as("%s element %d", module, i).isLessThan(1e-5f);
                    }
                }
                boolean small = out * in <= FactoredAdapter.MERGED_BYTES_PER_FACTOR_BYTE * rank * (in + out);
                assertThat(adapter.holdsMergedWeight(module)).as(module).isEqualTo(small);
                (small ? merged : factored).add(module);
                mergedBytes += small ? out * in * Float.BYTES : 0;
            }
            assertThat(merged).as("q_proj: 64·64 against 8·4·128").anyMatch(m -> m.endsWith("q_proj"));
            assertThat(factored).as("down_proj at rank 2: 64·96 against 8·2·160").anyMatch(m -> m.endsWith("down_proj"));
            assertThat(adapter.bytes()).isEqualTo(adapter.factorBytes() + mergedBytes);
        }
    }
}
