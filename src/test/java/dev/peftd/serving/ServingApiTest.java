package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import dev.peftd.core.model.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The serving API end to end, through HTTP with the service's security and problem handling: PEFT adapters
 * uploaded and checked against a registered base, completions whose logprobs equal PEFT's log-softmax, merge,
 * tenant isolation, and the official OpenAI Java SDK as the client (completions, chat, both streamed).
 */
@ServiceTest
class ServingApiTest {

    @LocalServerPort
    int port;

    @Test
    void uploadedPeftAdapterServesPeftsLogprobsAndMergesIntoABaseModel() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        TestApi.Response uploaded = uploadAdapter(alpha, "tiny-llama", "robot-lora-" + suffix(), "llama-lora");
        assertThat(uploaded.status()).as(uploaded.toString()).isEqualTo(201);
        JsonNode adapter = uploaded.json();
        String id = adapter.path("id").asString();
        assertThat(adapter.path("method").asString()).isEqualTo("lora");
        assertThat(adapter.path("modules").asInt()).isEqualTo(14);
        assertThat(alpha.get("/v1/adapters/" + id).json().path("base_model").asString()).isEqualTo("tiny-llama");
        assertThat(alpha.get("/v1/adapters").json().path("data").valueStream().map(a -> a.path("id").asString()))
                .contains(id);

        Path expected = ServingFixtures.adapterDir("llama-lora").resolve("expected.safetensors");
        long[] ids;
        float[] logits;
        try (NDManager manager = NDManager.newBaseManager()) {
            ids = Arrays.copyOf(ServingFixtures.tensor(expected, "input_ids", manager).toLongArray(), 12); // row 0
            logits = ServingFixtures.tensor(expected, "logits", manager).toFloatArray();
        }
        List<Double> viaAdapter = echoLogprobs(alpha, id, ids);
        int vocab = logits.length / 24;
        for (int t = 1; t < ids.length; t++) {
            assertThat(viaAdapter.get(t)).as("prompt token " + t)
                    .isCloseTo(logSoftmax(logits, (t - 1) * vocab, vocab, (int) ids[t]), within(1e-4));
        }
        assertThat(TestApi.beta(port).post("/v1/completions", Map.of("model", id, "prompt", "hi")).status())
                .as("another tenant cannot use it").isEqualTo(404);

        TestApi.Response merged = alpha.post("/v1/adapters/" + id + "/merge", Map.of());
        assertThat(merged.status()).as(merged.toString()).isEqualTo(200);
        String mergedModel = merged.json().path("merged_model").asString();
        assertThat(merged.json().path("files").valueStream().map(JsonNode::asString))
                .contains("config.json", "model.safetensors", "tokenizer.json");
        assertThat(alpha.get("/v1/models/" + mergedModel).json().path("status").asString()).isEqualTo("ready");
        List<Double> viaMerged = echoLogprobs(alpha, mergedModel, ids);
        for (int t = 1; t < ids.length; t++) {
            assertThat(viaMerged.get(t)).as("merged, token " + t).isCloseTo(viaAdapter.get(t), within(1e-4));
        }
        TestApi.Response config = alpha.get("/v1/adapters/" + id + "/merged/config.json");
        assertThat(config.status()).isEqualTo(200);
        assertThat(config.body()).contains("LlamaForCausalLM");

        assertThat(alpha.delete("/v1/adapters/" + id).json().path("deleted").asBoolean()).isTrue();
        assertThat(alpha.post("/v1/completions", Map.of("model", id, "prompt", "hi")).status()).isEqualTo(404);
        assertThat(TestApi.operator(port).get("/actuator/prometheus").body())
                .contains("peftd_serving_requests_total", "peftd_serving_adapter_cache_misses_total");
    }

    @Test
    void anAdapterThatDoesNotFitItsBaseIsRefusedNamingTheTensor() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        readyModel(alpha, "tiny-mistral", TestModels.tinyMistral());
        TestApi.Response wrongBase = uploadAdapter(alpha, "tiny-mistral", null, "llama-lora");
        assertThat(wrongBase.status()).as(wrongBase.toString()).isEqualTo(422);
        assertThat(wrongBase.contentType()).startsWith("application/problem+json");
        assertThat(wrongBase.json().path("type").asString()).endsWith("/adapter-mismatch");
        assertThat(wrongBase.json().path("errors").get(0).path("field").asString())
                .startsWith("base_model.model.model.layers.0.").endsWith(".weight");
        // the client's name for the base, never its folder on the server
        assertThat(wrongBase.json().path("detail").asString())
                .startsWith("adapter does not fit base model 'tiny-mistral': ");
        assertThat(wrongBase.json().path("errors").get(0).path("message").asString())
                .isEqualTo("does not fit base model 'tiny-mistral'");
        TestApi.Response otherFamily = uploadAdapter(alpha, "tiny-llama", null, "gpt2-lora");
        assertThat(otherFamily.status()).isEqualTo(422);
        assertThat(otherFamily.json().path("errors").get(0).path("field").asString()).isEqualTo("target_modules");
        assertThat(uploadAdapter(alpha, "no-such-model", null, "llama-lora").status()).isEqualTo(404);
    }

    /**
     * A few KB of deflated zeros that expand to 64 MB, against the test context's 8 MB limit: refused with 413 while
     * it is read, and nothing of it is left on disk.
     */
    @Test
    void aZipBombIsRefusedWith413AndLeavesNothingOnDisk() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        Path serving = Path.of("target/test-peftd-data/serving");
        TestApi.Response bomb = uploadZip(alpha, "tiny-llama", AdapterZipTest.bomb(64));
        assertThat(bomb.status()).as(bomb.toString()).isEqualTo(413);
        assertThat(bomb.contentType()).startsWith("application/problem+json");
        assertThat(bomb.json().path("type").asString()).endsWith("/payload-too-large");
        assertThat(bomb.json().path("errors").get(0).path("field").asString()).isEqualTo("file");
        assertThat(bomb.json().path("detail").asString()).contains("expands beyond 8388608 bytes");
        try (var left = Files.walk(serving)) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith("upload-"))).as("scratch folders").isEmpty();
        }
        try (var files = Files.walk(serving)) {
            assertThat(files.filter(Files::isRegularFile).filter(p -> p.toFile().length() >= 8 << 20))
                    .as("files of the limit's size").isEmpty();
        }
    }

    /** Corrupt files and a catastrophic pattern key: a 400 naming the file and field, promptly, no server path. */
    @Test
    void corruptAdapterFilesAreA400NamingTheFileAndField() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        Path fixture = ServingFixtures.adapterDir("llama-lora");
        byte[] config = Files.readAllBytes(fixture.resolve("adapter_config.json"));
        byte[] weights = Files.readAllBytes(fixture.resolve("adapter_model.safetensors"));

        TestApi.Response truncated = uploadZip(alpha, "tiny-llama", zip(Map.of("adapter_config.json", config,
                "adapter_model.safetensors", Arrays.copyOf(weights, weights.length / 2))));
        assertFileProblem(truncated, "file: adapter_model.safetensors: tensor '");

        TestApi.Response notJson = uploadZip(alpha, "tiny-llama", zip(Map.of("adapter_config.json",
                "{\"peft_type\": ".getBytes(StandardCharsets.UTF_8), "adapter_model.safetensors", weights)));
        assertFileProblem(notJson, "file: adapter_config.json: is not valid UTF-8 JSON");

        byte[] hostile = new String(config, StandardCharsets.UTF_8)
                .replace("\"down_proj\": 2", "\"(.*){12}Z\": 2").getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        TestApi.Response regex = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(5), () -> uploadZip(alpha, "tiny-llama",
                        zip(Map.of("adapter_config.json", hostile, "adapter_model.safetensors", weights))));
        assertFileProblem(regex, "file: adapter_config.json rank_pattern['(.*){12}Z']: regular expression");
        assertThat((System.nanoTime() - start) / 1e9).as("seconds").isLessThan(5);
    }

    private static void assertFileProblem(TestApi.Response response, String detailStart) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.contentType()).startsWith("application/problem+json");
        assertThat(response.json().path("errors").get(0).path("field").asString()).isEqualTo("file");
        assertThat(response.json().path("detail").asString()).startsWith(detailStart)
                .doesNotContain(Path.of("target").toAbsolutePath().toString());
    }

    @Test
    void theOfficialOpenAiSdkIsAClient() throws Exception {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        readyModel(alpha, "tiny-qwen2", TestModels.tinyQwen2());
        String adapter = uploadAdapter(alpha, "tiny-qwen2", "qwen-" + suffix(), "qwen2-lora-all").json()
                .path("id").asString();
        OpenAIClient client = OpenAIOkHttpClient.builder().apiKey(TestApi.ALPHA_KEY)
                .baseUrl("http://localhost:" + port + "/v1").build();

        CompletionCreateParams completion = CompletionCreateParams.builder().model("tiny-llama")
                .prompt("once upon a time").maxTokens(8).temperature(0.0).logprobs(2).build();
        Completion whole = client.completions().create(completion);
        String text = whole.choices().get(0).text();
        assertThat(whole.usage().orElseThrow().completionTokens()).isEqualTo(
                whole.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow().size());
        try (StreamResponse<Completion> stream = client.completions().createStreaming(completion)) {
            String streamed = stream.stream().flatMap(c -> c.choices().stream()).map(c -> c.text())
                    .collect(Collectors.joining());
            assertThat(streamed).isEqualTo(text);
        }

        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model(adapter)
                .addSystemMessage("be brief").addUserMessage("what is a robot?").maxCompletionTokens(8)
                .temperature(0.0).seed(3).build();
        ChatCompletion answer = client.chat().completions().create(chat);
        String content = answer.choices().get(0).message().content().orElseThrow();
        assertThat(answer.model()).isEqualTo(adapter);
        List<String> pieces = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat)) {
            stream.stream().flatMap(c -> c.choices().stream()).forEach(c -> c.delta().content().ifPresent(pieces::add));
        }
        assertThat(String.join("", pieces)).isEqualTo(content);

        assertThat(LegacyLogprobsTest.rebuilt(whole.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow()))
                .as("the logprobs tokens join back to the text").isEqualTo(text);
        Completion echoed = client.completions().create(CompletionCreateParams.builder().model("tiny-llama")
                .prompt("once upon a time, the robot said hello").maxTokens(0).echo(true).logprobs(1).build());
        List<String> tokens = echoed.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow();
        assertThat(String.join("", tokens.subList(1, tokens.size()))).as("after <s>: with their leading spaces")
                .isEqualTo("once upon a time, the robot said hello");

        List<String> prompts = List.of("once upon a time", "the robot said");
        Completion listed = client.completions().create(CompletionCreateParams.builder().model("tiny-llama")
                .promptOfArrayOfStrings(prompts).maxTokens(6).temperature(0.0).build());
        assertThat(listed.choices()).extracting(c -> c.index()).containsExactly(0L, 1L);
        long promptTokens = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Completion alone = client.completions().create(CompletionCreateParams.builder().model("tiny-llama")
                    .prompt(prompts.get(i)).maxTokens(6).temperature(0.0).build());
            assertThat(listed.choices().get(i).text()).isEqualTo(alone.choices().get(0).text());
            promptTokens += alone.usage().orElseThrow().promptTokens();
        }
        assertThat(listed.usage().orElseThrow().promptTokens()).isEqualTo(promptTokens);

        Completion samples = client.completions().create(CompletionCreateParams.builder().model("tiny-llama")
                .prompt("once upon a time").maxTokens(8).temperature(1.0).seed(5).n(3).build());
        assertThat(samples.choices()).extracting(c -> c.index()).containsExactly(0L, 1L, 2L);
        assertThat(samples.choices().stream().map(c -> c.text()).distinct()).hasSizeGreaterThan(1);
        assertThat(samples.usage().orElseThrow().promptTokens()).as("the prompt counted once for n = 3")
                .isEqualTo(whole.usage().orElseThrow().promptTokens());

        BadRequestException tooLong = org.junit.jupiter.api.Assertions.assertThrows(BadRequestException.class,
                () -> client.completions().create(CompletionCreateParams.builder().model("tiny-llama")
                        .promptOfArrayOfTokens(java.util.stream.LongStream.range(3, 123).boxed().toList())
                        .maxTokens(10).build()));
        assertThat(tooLong.statusCode()).isEqualTo(400);
        assertThat(tooLong.getMessage()).contains("This model's maximum context length is 128 tokens, however you"
                + " requested 130 tokens (120 in your prompt; 10 for the completion). Please reduce your prompt; or"
                + " completion length.");
        ChatCompletionCreateParams sampled = chat.toBuilder().temperature(1.0).seed(5).n(3).build();
        ChatCompletion three = client.chat().completions().create(sampled);
        assertThat(three.choices()).extracting(c -> c.index()).containsExactly(0L, 1L, 2L);
        long completionTokens = 0;
        for (int j = 0; j < 3; j++) { // choice j samples as the same request alone with seed 5 + j
            ChatCompletion alone = client.chat().completions().create(sampled.toBuilder().n(1).seed(5 + j).build());
            assertThat(three.choices().get(j).message().content()).isEqualTo(alone.choices().get(0).message().content());
            completionTokens += alone.usage().orElseThrow().completionTokens();
        }
        assertThat(three.choices().stream().map(c -> c.message().content().orElseThrow()).distinct()).hasSizeGreaterThan(1);
        assertThat(three.usage().orElseThrow().promptTokens()).as("the messages counted once for n = 3")
                .isEqualTo(answer.usage().orElseThrow().promptTokens());
        assertThat(three.usage().orElseThrow().completionTokens()).as("every choice's tokens").isEqualTo(completionTokens);
        Map<Long, StringBuilder> streamedChoices = new java.util.TreeMap<>();
        Map<Long, String> finishes = new java.util.TreeMap<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(sampled)) {
            stream.stream().flatMap(c -> c.choices().stream()).forEach(c -> {
                c.delta().content().ifPresent(t -> streamedChoices.computeIfAbsent(c.index(), k -> new StringBuilder())
                        .append(t));
                c.finishReason().ifPresent(f -> finishes.put(c.index(), f.toString()));
            });
        }
        assertThat(finishes).containsOnlyKeys(0L, 1L, 2L);
        for (int j = 0; j < 3; j++) {
            assertThat(streamedChoices.get((long) j).toString()).as("streamed choice %d", j)
                    .isEqualTo(three.choices().get(j).message().content().orElseThrow());
        }
        BadRequestException n = org.junit.jupiter.api.Assertions.assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat.toBuilder().n(129).build()));
        assertThat(n.getMessage()).contains("at most 128");
        TestApi.Response problem = alpha.post("/v1/completions", Map.of("model", "tiny-llama", "prompt", "hi", "n", 0));
        assertThat(problem.status()).isEqualTo(400);
        assertThat(problem.json().path("errors").get(0).path("field").asString()).isEqualTo("n");
    }

    /**
     * Chat fields that would change the answer and that peftd cannot honour were silently ignored (a 200 without the
     * tool call or the JSON asked for); now each is a 400 naming it, through the SDK too. Their plain-text values
     * are the default and pass.
     */
    @Test
    void chatFieldsThatWouldChangeTheAnswerAreRefusedNamingTheField() {
        TestApi alpha = TestApi.alpha(port);
        readyModel(alpha, "tiny-qwen2", TestModels.tinyQwen2());
        OpenAIClient client = OpenAIOkHttpClient.builder().apiKey(TestApi.ALPHA_KEY).maxRetries(0)
                .baseUrl("http://localhost:" + port + "/v1").build();
        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model("tiny-qwen2")
                .addUserMessage("weather?").maxCompletionTokens(2).temperature(0.0).build();

        BadRequestException tools = org.junit.jupiter.api.Assertions.assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat.toBuilder().addTool(
                        com.openai.models.chat.completions.ChatCompletionFunctionTool.builder().function(
                                com.openai.models.FunctionDefinition.builder().name("get_weather").build()).build())
                        .build()));
        assertThat(tools.getMessage()).contains("tools: tools are not supported by peftd");
        BadRequestException json = org.junit.jupiter.api.Assertions.assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat.toBuilder()
                        .responseFormat(com.openai.models.ResponseFormatJsonObject.builder().build()).build()));
        assertThat(json.getMessage()).contains("response_format: 'json_object' is not supported by peftd");
        assertThat(client.chat().completions().create(chat.toBuilder()
                .responseFormat(com.openai.models.ResponseFormatText.builder().build()).build()).choices()).hasSize(1);

        Map<String, Object> refused = Map.of(
                "tool_choice", "auto",
                "functions", List.of(Map.of("name", "f")),
                "response_format", Map.of("type", "json_schema", "json_schema", Map.of("name", "x")),
                "logit_bias", Map.of("50256", -100),
                "modalities", List.of("text", "audio"),
                "reasoning_effort", "low");
        for (Map.Entry<String, Object> field : refused.entrySet()) {
            TestApi.Response response = alpha.post("/v1/chat/completions", Map.of("model", "tiny-qwen2",
                    "messages", List.of(Map.of("role", "user", "content", "hi")), "max_tokens", 1,
                    field.getKey(), field.getValue()));
            assertThat(response.status()).as(response.toString()).isEqualTo(400);
            assertThat(response.json().path("errors").get(0).path("field").asString()).isEqualTo(field.getKey());
        }
        TestApi.Response defaults = alpha.post("/v1/chat/completions", Map.of("model", "tiny-qwen2",
                "messages", List.of(Map.of("role", "user", "content", "hi")), "max_tokens", 1, "tool_choice", "none",
                "tools", List.of(), "logit_bias", Map.of(), "modalities", List.of("text"), "user", "u-1"));
        assertThat(defaults.status()).as(defaults.toString()).isEqualTo(200);
    }

    @Test
    void aFineTunedModelServesItsJobsAdapterOnTheSharedBase() {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        String file = Fixtures.uploadTrainingFile(alpha);
        String job = alpha.post("/v1/fine_tuning/jobs", Map.of("model", "tiny-llama", "training_file", file,
                "suffix", "serve", "seed", 5, "method", Map.of("type", "lora", "lora", Map.of("hyperparameters",
                        Map.of("r", 4, "lora_alpha", 8, "max_steps", 2, "batch_size", 2, "learning_rate", 1e-2,
                                "target_modules", List.of("q_proj", "v_proj")))))).json().path("id").asString();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(180))
                .pollInterval(java.time.Duration.ofMillis(200))
                .until(() -> List.of("succeeded", "failed", "cancelled")
                        .contains(alpha.get("/v1/fine_tuning/jobs/" + job).json().path("status").asString()));
        JsonNode done = alpha.get("/v1/fine_tuning/jobs/" + job).json();
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("succeeded");
        String model = done.path("fine_tuned_model").asString();

        long[] ids = {1, 17, 42, 99, 7, 3, 250, 11};
        List<Double> fineTuned = echoLogprobs(alpha, model, ids);
        List<Double> base = echoLogprobs(alpha, "tiny-llama", ids);
        assertThat(fineTuned).hasSameSizeAs(base).isNotEqualTo(base);
        assertThat(TestApi.beta(port).post("/v1/completions", Map.of("model", model, "prompt", "hi")).status())
                .isEqualTo(404);

        TestApi.Response merged = alpha.post("/v1/adapters/" + model + "/merge", Map.of("model_id", "ft-merged-" + suffix()));
        assertThat(merged.status()).as(merged.toString()).isEqualTo(200);
        List<Double> viaMerged = echoLogprobs(alpha, merged.json().path("merged_model").asString(), ids);
        for (int t = 1; t < ids.length; t++) {
            assertThat(viaMerged.get(t)).as("merged fine-tuned model, token " + t).isCloseTo(fineTuned.get(t), within(1e-4));
        }
        assertThat(TestApi.operator(port).get("/actuator/prometheus").body()).contains("mode=\"merged\"");
    }

    static List<Double> echoLogprobs(TestApi api, String model, long[] ids) {
        TestApi.Response r = api.post("/v1/completions", Map.of("model", model, "prompt", ids, "max_tokens", 0,
                "echo", true, "logprobs", 3));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        List<Double> out = new ArrayList<>();
        r.json().path("choices").get(0).path("logprobs").path("token_logprobs").valueStream()
                .forEach(v -> out.add(v.isNull() ? null : v.asDouble()));
        return out;
    }

    private static double logSoftmax(float[] logits, int offset, int vocab, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[offset + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            sum += Math.exp(logits[offset + v] - max);
        }
        return logits[offset + token] - max - Math.log(sum);
    }

    private static void readyModel(TestApi api, String id, Path dir) {
        if (api.get("/v1/models/" + id).status() == 404) {
            api.post("/v1/models", Map.of("id", id, "source", dir.toUri().toString()));
        }
        Fixtures.awaitModel(api, id, "ready");
    }

    private static String suffix() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    /** multipart/form-data: base_model, optional name, and the fixture directory zipped as file. */
    static TestApi.Response uploadAdapter(TestApi api, String baseModel, String name, String fixture)
            throws IOException {
        return upload(api, baseModel, name, fixture + ".zip", zip(ServingFixtures.adapterDir(fixture)));
    }

    private static TestApi.Response uploadZip(TestApi api, String baseModel, byte[] zip) throws IOException {
        return upload(api, baseModel, null, "adapter.zip", zip);
    }

    static TestApi.Response upload(TestApi api, String baseModel, String name, String fileName, byte[] zip) {
        return api.uploadAdapter(baseModel, name, fileName, zip);
    }

    /** The PEFT files of a fixture directory (not PEFT's logits beside them), in a folder inside the zip. */
    private static byte[] zip(Path dir) throws IOException {
        Map<String, byte[]> files = new java.util.LinkedHashMap<>();
        for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) {
            files.put(dir.getFileName() + "/" + file, Files.readAllBytes(dir.resolve(file)));
        }
        return zip(files);
    }

    private static byte[] zip(Map<String, byte[]> files) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                zip.putNextEntry(new ZipEntry(file.getKey()));
                zip.write(file.getValue());
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }
}
