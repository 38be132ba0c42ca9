package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.peftd.Fixtures;
import dev.peftd.ServiceTest;
import dev.peftd.TestApi;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * What lm-evaluation-harness's {@code local-completions} model sends (lm_eval/models/openai_completions.py), replayed
 * through HTTP: loglikelihood as {@code echo} + {@code logprobs: 1} + {@code max_tokens} 1 (today's harness, which
 * drops the last position) or 0 (the scoring-only form) over lists of 16 token-id prompts, and generate_until with
 * stop sequences and {@code max_tokens}. Batches of 16 give the numbers the same requests give one by one (the
 * harness's {@code --batch_size 16} against 1). tools/evalharness/replay_lm_eval.py does the same against a running
 * service.
 */
@ServiceTest
class EvalHarnessTrafficTest {

    private static final int BATCH = 16;
    private static final double TOLERANCE = 1e-4;

    @LocalServerPort
    int port;

    /** A loglikelihood request: the context's tokens, then the continuation's. */
    private record Request(List<Long> context, List<Long> continuation) {
        List<Long> all() {
            List<Long> all = new ArrayList<>(context);
            all.addAll(continuation);
            return all;
        }
    }

    /** The harness's parse_logprobs: the continuation's summed logprob, and whether each token was the top one. */
    private record Scored(double logprob, boolean greedy) {
    }

    @Test
    void loglikelihoodAndGenerateUntilGiveTheSameNumbersInBatchesOf16AsOneByOne() {
        TestApi alpha = TestApi.alpha(port);
        Fixtures.readyTinyLlama(alpha, "tiny-llama");
        Random random = new Random(11);
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
            requests.add(new Request(ids(random, 1 + random.nextInt(40)), ids(random, 1 + random.nextInt(6))));
        }
        for (int maxTokens : new int[] {1, 0}) {
            List<Scored> batched = new ArrayList<>();
            List<Scored> single = new ArrayList<>();
            for (int start = 0; start < requests.size(); start += BATCH) {
                batched.addAll(loglikelihood(alpha, requests.subList(start, start + BATCH), maxTokens));
            }
            for (Request request : requests) {
                single.addAll(loglikelihood(alpha, List.of(request), maxTokens));
            }
            for (int i = 0; i < requests.size(); i++) {
                assertThat(batched.get(i).logprob()).as("max_tokens " + maxTokens + ", request " + i)
                        .isCloseTo(single.get(i).logprob(), within(TOLERANCE));
                assertThat(batched.get(i).greedy()).isEqualTo(single.get(i).greedy());
            }
        }

        List<List<Long>> contexts = requests.stream().map(Request::all).toList();
        List<String> batched = generateUntil(alpha, contexts);
        for (int i = 0; i < contexts.size(); i++) {
            assertThat(batched.get(i)).as("generation " + i).isEqualTo(generateUntil(alpha, List.of(contexts.get(i))).get(0));
        }
    }

    /** The harness's loglikelihood payload for one batch, parsed as its parse_logprobs does. */
    private static List<Scored> loglikelihood(TestApi api, List<Request> batch, int maxTokens) {
        Map<String, Object> payload = new HashMap<>(Map.of("model", "tiny-llama", "temperature", 0, "max_tokens",
                maxTokens, "logprobs", 1, "seed", 1234, "echo", true));
        payload.put("prompt", batch.stream().map(Request::all).toList());
        TestApi.Response response = api.post("/v1/completions", payload);
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        List<JsonNode> choices = StreamSupport.stream(response.json().path("choices").spliterator(), false)
                .sorted(Comparator.comparingInt(c -> c.path("index").asInt())).toList();
        assertThat(choices).hasSize(batch.size());
        List<Scored> out = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            JsonNode logprobs = choices.get(i).path("logprobs");
            int from = batch.get(i).context().size();
            int to = logprobs.path("token_logprobs").size() - maxTokens; // max_tokens 1: the harness drops the last
            double sum = 0;
            boolean greedy = true;
            for (int t = from; t < to; t++) {
                double lp = logprobs.path("token_logprobs").get(t).asDouble();
                sum += lp;
                double best = StreamSupport.stream(logprobs.path("top_logprobs").get(t).spliterator(), false)
                        .mapToDouble(JsonNode::asDouble).max().orElseThrow();
                greedy &= lp == best;
            }
            out.add(new Scored(sum, greedy));
        }
        return out;
    }

    /** The harness's generate_until payload: greedy, its stop sequences plus the EOS text, max_tokens. */
    private static List<String> generateUntil(TestApi api, List<List<Long>> contexts) {
        TestApi.Response response = api.post("/v1/completions", Map.of("model", "tiny-llama", "prompt", contexts,
                "max_tokens", 12, "temperature", 0, "stop", List.of("\n\n", ".", "</s>"), "seed", 1234));
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        String[] texts = new String[contexts.size()];
        response.json().path("choices").forEach(c -> texts[c.path("index").asInt()] = c.path("text").asString());
        return List.of(texts);
    }

    private static List<Long> ids(Random random, int length) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            ids.add(3L + random.nextInt(380));
        }
        return ids;
    }
}
