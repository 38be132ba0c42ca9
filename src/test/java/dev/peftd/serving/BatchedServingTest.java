package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peftd.core.adapter.AbstractAdapter;
import dev.peftd.core.adapter.Adapters;
import dev.peftd.core.adapter.DeltaLoraConfig;
import dev.peftd.core.adapter.LoraConfig;
import dev.peftd.core.adapter.TargetModules;
import dev.peftd.core.adapter.TrainableTensor;
import dev.peftd.core.adapter.peft.ExportOptions;
import dev.peftd.core.adapter.peft.PeftExporter;
import dev.peftd.core.generate.BatchDecoder;
import dev.peftd.core.generate.GenerationOptions;
import dev.peftd.core.generate.GenerationResult;
import dev.peftd.core.generate.GenerationResults;
import dev.peftd.core.generate.TokenListener;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.core.model.TestModels;
import dev.peftd.core.tensor.NoGrad;
import dev.peftd.core.tokenizer.Tokenizer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests for different adapters on one base share forward passes: 16 concurrent requests over LoRA, VeRA,
 * Delta-LoRA (served as its rank-2r LoRA) and the bare base each get what they get alone (tokens, text, logprobs
 * within 1e-4) and what the one-sequence path gives; a request larger than the whole KV cache is a 400.
 */
class BatchedServingTest {

    @TempDir
    Path tmp;

    @Test
    void sixteenRequestsOverLoraVeraDeltaLoraAndTheBaseEqualEachAlone() throws Exception {
        Path deltaLora = deltaLoraAdapter(tmp.resolve("delta-lora"));
        try (ServingFixtures serving = new ServingFixtures();
             Tokenizer tokenizer = Tokenizer.load(TestModels.tinyLlama())) {
            List<ServedModel> models = List.of(ServingFixtures.base("tiny-llama"),
                    ServingFixtures.adapter("llama-lora", "tiny-llama"),
                    ServingFixtures.adapter("llama-vera", "tiny-llama"),
                    ServedModel.adapter("delta-lora", TestModels.tinyLlama(), "delta-lora", () -> deltaLora));
            String[] prompts = {"the quick brown fox", "Once upon a time", "First Citizen:", "Hello there"};
            List<long[]> ids = new ArrayList<>();
            List<GenerationOptions> options = new ArrayList<>();
            List<GenerationResult> alone = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                ids.add(tokenizer.encode(prompts[(i / 4) % prompts.length]));
                GenerationOptions o = GenerationOptions.greedy(8 + i).withLogprobs(3).withStopTokenIds(-1);
                options.add(i % 3 == 2 ? o.withSampling(0.9, 0.95, OptionalLong.of(i)) : o);
                try (ServingEngine.Session session = serving.engine.open(models.get(i % 4), "completions")) {
                    GenerationResult result = session.generate(ids.get(i), options.get(i), TokenListener.NONE);
                    GenerationResults.assertSame(session.generateUnbatched(ids.get(i), options.get(i),
                            TokenListener.NONE), result, "one-sequence path " + i);
                    alone.add(result);
                }
            }
            assertThat(alone.subList(0, 4).stream().map(GenerationResult::text).distinct()).as("four models differ")
                    .hasSize(4);

            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<GenerationResult>> answers = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    int k = i;
                    answers.add(pool.submit(() -> {
                        start.await();
                        try (ServingEngine.Session session = serving.engine.open(models.get(k % 4), "completions")) {
                            return session.generate(ids.get(k), options.get(k), TokenListener.NONE);
                        }
                    }));
                }
                start.countDown();
                for (int i = 0; i < 16; i++) {
                    GenerationResults.assertSame(answers.get(i).get(60, TimeUnit.SECONDS), alone.get(i), "batched " + i);
                }
            } finally {
                pool.shutdownNow();
            }
            double largest = serving.registry.find("peftd.serving.batch.rows").summaries().stream()
                    .mapToDouble(s -> s.max()).max().orElse(0);
            assertThat(largest).as("requests for four models shared forward passes").isGreaterThanOrEqualTo(8);
            CountAtBucket[] ttft = serving.registry.find("peftd.serving.time.to.first.token").timer()
                    .takeSnapshot().histogramCounts();
            assertThat(ttft).as("time to first token publishes histogram buckets").isNotEmpty();
        }
    }

    /** A list of prompts (an evaluation harness's batch) is queued whole: its prompts are prefilled in one pass. */
    @Test
    void aRequestsPromptsArePrefilledTogetherInOnePass() throws Exception {
        try (ServingFixtures serving = new ServingFixtures()) {
            ServedModel model = ServingFixtures.base("tiny-llama");
            List<String> prompts = List.of("the quick brown fox", "Once upon a time", "First Citizen:", "Hello there",
                    "A", "In a small village");
            CompletionResponse answer = serving.completions.complete(model, CompletionRequest.of(model.name(), prompts, 5));
            assertThat(answer.choices()).hasSize(prompts.size());
            var prefills = serving.registry.find("peftd.serving.batch.rows").tag("phase", "prefill").summary();
            assertThat(prefills.count()).as("forward passes that prefilled prompts").isEqualTo(1);
            assertThat(prefills.max()).isEqualTo(prompts.size());
        }
    }

    @Test
    void aRequestLargerThanTheWholeKvCacheIsRefusedAndSmallerOnesWaitForRoom() throws Exception {
        CausalLm probe = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
        long perPosition = dev.peftd.core.model.PagedKvCache.bytesPerPosition(probe.config(), null);
        probe.close();
        BatchDecoder.Limits small = new BatchDecoder.Limits(8, perPosition * 32, 16); // two blocks of 16 positions
        try (ServingFixtures serving = new ServingFixtures(64L << 20, 4, Long.MAX_VALUE, ServingLimits.DEFAULTS, small)) {
            ServedModel model = ServingFixtures.base("tiny-llama");
            assertThatThrownBy(() -> serving.completions.complete(model,
                    CompletionRequest.of(model.name(), "the quick brown fox", 40)))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("KV-cache positions")
                    .hasMessageContaining("at most 32");

            // each of these needs both blocks (15 prompt tokens + 10): they run one after another, none fails
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<CompletionResponse>> answers = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    answers.add(pool.submit(() -> serving.completions.complete(model,
                            CompletionRequest.of(model.name(), "the quick brown fox", 10))));
                }
                for (Future<CompletionResponse> answer : answers) {
                    assertThat(answer.get(60, TimeUnit.SECONDS).choices()).hasSize(1);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(serving.registry.find("peftd.serving.batch.queue.wait").timer().count()).isEqualTo(3);
        }
    }

    /** A Delta-LoRA whose base has started to follow it (reference taken, then moved on), exported for PEFT. */
    static Path deltaLoraAdapter(Path dir) throws IOException {
        try (CausalLm model = ModelLoader.load(TestModels.tinyLlama(), Device.cpu());
             NDManager manager = NDManager.newBaseManager();
             NoGrad ignored = NoGrad.enter()) {
            LoraConfig lora = LoraConfig.of(4, 8, TargetModules.names(List.of("q_proj", "v_proj", "down_proj")));
            try (AbstractAdapter adapter = Adapters.create(new DeltaLoraConfig(lora, 2, 0), model.linears(), 5)) {
                perturb(adapter, manager);
                adapter.afterOptimizerStep(1); // takes the reference product
                perturb(adapter, manager);
                adapter.afterOptimizerStep(2);
                PeftExporter.export(adapter, dir, ExportOptions.forModel(TestModels.tinyLlama().toString(), model.config()));
            }
        }
        return dir;
    }

    private static void perturb(AbstractAdapter adapter, NDManager manager) {
        for (TrainableTensor t : adapter.trainableTensors()) {
            t.value().addi(manager.randomNormal(0, 0.1f, t.value().getShape(), DataType.FLOAT32));
        }
    }
}
