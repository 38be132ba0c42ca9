package dev.peftd.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peftd.core.model.TestModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The logprobs {@code /v1/completions} returns (echo + {@code max_tokens: 0}, the evaluation-harness call, and the
 * first greedy token) equal the log-softmax of the logits transformers/PEFT compute for the same ids: for the bare
 * base and for PEFT-made LoRA and VeRA adapters served unmerged on it.
 */
class CompletionLogprobParityTest {

    private static final double TOLERANCE = 1e-4;
    private static final int TOP = 5;

    @AutoClose
    private static final ServingFixtures serving = new ServingFixtures();

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({
        "-, tiny-llama",
        "llama-lora, tiny-llama",
        "llama-vera, tiny-llama",
        "llama-vera-noproj, tiny-llama",
        "qwen2-lora-all, tiny-qwen2",
        "gpt2-lora, tiny-gpt2"})
    void echoedPromptLogprobsEqualPeftLogSoftmax(String adapter, String model) throws Exception {
        boolean bare = adapter.equals("-");
        ServedModel served = bare ? ServingFixtures.base(model) : ServingFixtures.adapter(adapter, model);
        Path expected = bare ? TestModels.tiny(model).resolve("reference.safetensors")
                : ServingFixtures.adapterDir(adapter).resolve("expected.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray idsArray = ServingFixtures.tensor(expected, "input_ids", manager);   // [2, 12]
            NDArray logitsArray = ServingFixtures.tensor(expected, "logits", manager);   // [2, 12, vocab]
            int rows = (int) idsArray.getShape().get(0);
            int length = (int) idsArray.getShape().get(1);
            int vocab = (int) logitsArray.getShape().get(2);
            long[] allIds = idsArray.toLongArray();
            float[] allLogits = logitsArray.toFloatArray();
            double maxDiff = 0;
            for (int row = 0; row < rows; row++) {
                long[] ids = Arrays.copyOfRange(allIds, row * length, (row + 1) * length);
                double[][] reference = logSoftmax(allLogits, row, length, vocab);
                CompletionResponse echo = serving.completions.complete(served,
                        CompletionRequest.of(served.name(), toList(ids), 0).withLogprobs(TOP, true));
                assertEchoMatches(echo, ids, reference);
                for (int t = 1; t < length; t++) {
                    maxDiff = Math.max(maxDiff, Math.abs(reference[t - 1][(int) ids[t]]
                            - echo.choices().get(0).logprobs().tokenLogprobs().get(t)));
                }
                CompletionResponse next = serving.completions.complete(served,
                        CompletionRequest.of(served.name(), toList(ids), 1).withLogprobs(TOP, false)
                                .withSampling(0.0, null, null));
                assertFirstTokenMatches(next, reference[length - 1]);
            }
            System.out.printf(java.util.Locale.ROOT, "serving parity %s on %s: max |logprob - PEFT log-softmax| = %.2e%n",
                    adapter, model, maxDiff);
        }
    }

    private static void assertEchoMatches(CompletionResponse response, long[] ids, double[][] reference) {
        CompletionResponse.Logprobs lp = response.choices().get(0).logprobs();
        assertEquals(ids.length, lp.tokens().size(), "one logprob entry per prompt token");
        assertNull(lp.tokenLogprobs().get(0), "the first token has no context");
        assertEquals(ids.length, response.usage().promptTokens());
        assertEquals(0, response.usage().completionTokens());
        for (int t = 1; t < ids.length; t++) {
            double want = reference[t - 1][(int) ids[t]];
            assertEquals(want, lp.tokenLogprobs().get(t), TOLERANCE, "prompt token " + t);
            assertTopMatches(lp.topLogprobs().get(t).values(), reference[t - 1], "prompt position " + t);
        }
    }

    private static void assertFirstTokenMatches(CompletionResponse response, double[] reference) {
        CompletionResponse.Logprobs lp = response.choices().get(0).logprobs();
        assertEquals(1, lp.tokenLogprobs().size());
        double best = Arrays.stream(reference).max().orElseThrow();
        assertEquals(best, lp.tokenLogprobs().get(0), TOLERANCE, "greedy picks PEFT's argmax, with its logprob");
        assertTopMatches(lp.topLogprobs().get(0).values(), reference, "first generated token");
    }

    /** The reported alternatives are PEFT's top-k values (compared as sorted values; equal token texts may merge). */
    private static void assertTopMatches(java.util.Collection<Double> reported, double[] reference, String where) {
        double[] want = Arrays.stream(reference).boxed().sorted((a, b) -> Double.compare(b, a)).limit(TOP)
                .mapToDouble(Double::doubleValue).toArray();
        List<Double> got = new ArrayList<>(reported);
        got.sort((a, b) -> Double.compare(b, a));
        for (int i = 0; i < got.size(); i++) {
            final int index = i;
            double g = got.get(i);
            boolean present = Arrays.stream(want).anyMatch(w -> Math.abs(w - g) <= TOLERANCE);
            assertEquals(true, present, where + ": alternative " + index + " (" + g + ") is not among PEFT's top "
                    + TOP + " " + Arrays.toString(want));
        }
        assertEquals(want[0], got.get(0), TOLERANCE, where + ": best alternative");
    }

    /** log-softmax of PEFT's logits for one row, in double: {@code [T][vocab]}. */
    private static double[][] logSoftmax(float[] logits, int row, int length, int vocab) {
        double[][] out = new double[length][vocab];
        for (int t = 0; t < length; t++) {
            int base = (row * length + t) * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[base + v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(logits[base + v] - max);
            }
            double log = max + Math.log(sum);
            for (int v = 0; v < vocab; v++) {
                out[t][v] = logits[base + v] - log;
            }
        }
        return out;
    }

    private static List<Long> toList(long[] ids) {
        return Arrays.stream(ids).boxed().toList();
    }
}
