package dev.peftd.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * {@code /v1/completions} with several prompts and several choices: one choice per prompt × n in OpenAI's order, each
 * equal to the same prompt sent alone, seeds that make choices differ yet replay, best_of, usage, streams whose
 * chunks name their choice, and the refusals (shapes, limits, each prompt's context).
 */
class CompletionChoicesTest {

    /** Two logprobs of the same token from different batches (nulls: the echoed first token). */
    private static final java.util.Comparator<Double> WITHIN_BATCH_TOLERANCE = (a, b) ->
            a == null || b == null ? (a == b ? 0 : 1) : Math.abs(a - b) <= 1e-4 ? 0 : Double.compare(a, b);

    private static final double TOLERANCE = 1e-4;

    @AutoClose
    private static final ServingFixtures serving = new ServingFixtures();
    private static final ServedModel MODEL = ServingFixtures.adapter("llama-lora", "tiny-llama");

    @Test
    void aListOfPromptsGivesOneChoicePerPromptEachEqualToThePromptAlone() {
        List<List<Long>> prompts = List.of(ids(3, 5), ids(11, 9), ids(40, 2), ids(7, 14));
        CompletionRequest batch = CompletionRequest.of(MODEL.name(), prompts, 5).withSampling(0.0, null, null)
                .withLogprobs(2, false);
        CompletionResponse together = serving.completions.complete(MODEL, batch);
        assertThat(together.choices()).extracting(CompletionResponse.Choice::index).containsExactly(0, 1, 2, 3);
        int promptTokens = 0;
        int completionTokens = 0;
        for (int i = 0; i < prompts.size(); i++) {
            CompletionResponse alone = serving.completions.complete(MODEL,
                    CompletionRequest.of(MODEL.name(), prompts.get(i), 5).withSampling(0.0, null, null).withLogprobs(2, false));
            assertSameChoice(together.choices().get(i), alone.choices().get(0));
            promptTokens += alone.usage().promptTokens();
            completionTokens += alone.usage().completionTokens();
        }
        assertThat(together.usage()).isEqualTo(Usage.of(promptTokens, completionTokens));

        List<String> texts = List.of("once upon a time", "the robot", "hello");
        CompletionResponse strings = serving.completions.complete(MODEL,
                CompletionRequest.of(MODEL.name(), texts, 4).withSampling(0.0, null, null).withLogprobs(0, true));
        for (int i = 0; i < texts.size(); i++) {
            assertThat(strings.choices().get(i).text()).startsWith(texts.get(i));
            assertSameChoice(strings.choices().get(i), serving.completions.complete(MODEL, CompletionRequest.of(
                    MODEL.name(), texts.get(i), 4).withSampling(0.0, null, null).withLogprobs(0, true)).choices().get(0));
        }
    }

    @Test
    void echoWithMaxTokensZeroScoresEveryPromptOfAList() {
        List<List<Long>> prompts = List.of(ids(3, 12), ids(50, 7), ids(9, 20));
        CompletionResponse scored = serving.completions.complete(MODEL,
                CompletionRequest.of(MODEL.name(), prompts, 0).withLogprobs(1, true));
        assertThat(scored.usage()).isEqualTo(Usage.of(12 + 7 + 20, 0));
        for (int i = 0; i < prompts.size(); i++) {
            CompletionResponse.Choice choice = scored.choices().get(i);
            assertThat(choice.finishReason()).isEqualTo("length");
            assertThat(choice.logprobs().tokenLogprobs()).hasSize(prompts.get(i).size());
            assertSameChoice(choice, serving.completions.complete(MODEL,
                    CompletionRequest.of(MODEL.name(), prompts.get(i), 0).withLogprobs(1, true)).choices().get(0));
        }
    }

    @Test
    void nChoicesWithASeedDifferReplayAndStartFromTheRequestsSeed() {
        CompletionRequest request = withN(CompletionRequest.of(MODEL.name(), List.of(ids(3, 4), ids(20, 6)), 8)
                .withSampling(1.0, null, 7L).withLogprobs(0, false), 3, null);
        CompletionResponse first = serving.completions.complete(MODEL, request);
        assertThat(first.choices()).extracting(CompletionResponse.Choice::index).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(serving.completions.complete(MODEL, request).choices()).extracting(CompletionResponse.Choice::text)
                .as("the same seed replays").isEqualTo(first.choices().stream().map(CompletionResponse.Choice::text).toList());
        assertThat(first.choices().subList(0, 3).stream().map(CompletionResponse.Choice::text).distinct())
                .as("the choices of one prompt differ").hasSizeGreaterThan(1);
        int completion = 0;
        for (int j = 0; j < 3; j++) {
            CompletionResponse alone = serving.completions.complete(MODEL,
                    CompletionRequest.of(MODEL.name(), ids(20, 6), 8).withSampling(1.0, null, 7L + j).withLogprobs(0, false));
            assertThat(first.choices().get(3 + j).text()).as("prompt 1, choice " + j + " samples with seed 7 + " + j)
                    .isEqualTo(alone.choices().get(0).text());
        }
        for (CompletionResponse.Choice c : first.choices()) {
            completion += c.logprobs().tokens().size();
        }
        assertThat(first.usage().promptTokens()).as("each prompt counted once, not once per choice").isEqualTo(4 + 6);
        assertThat(first.usage().completionTokens()).isEqualTo(completion);
    }

    @Test
    void bestOfReturnsTheCandidatesWithTheHighestMeanLogprob() {
        List<Long> prompt = ids(30, 5);
        CompletionRequest request = withN(CompletionRequest.of(MODEL.name(), prompt, 6).withSampling(1.0, null, 3L)
                .withLogprobs(0, false), 2, 4);
        CompletionResponse best = serving.completions.complete(MODEL, request);
        List<CompletionResponse> candidates = new ArrayList<>();
        int completionTokens = 0;
        for (int j = 0; j < 4; j++) {
            CompletionResponse alone = serving.completions.complete(MODEL,
                    CompletionRequest.of(MODEL.name(), prompt, 6).withSampling(1.0, null, 3L + j).withLogprobs(0, false));
            candidates.add(alone);
            completionTokens += alone.usage().completionTokens();
        }
        candidates.sort(Comparator.comparingDouble(c -> -mean(c.choices().get(0))));
        assertThat(best.choices()).hasSize(2);
        for (int r = 0; r < 2; r++) {
            assertThat(best.choices().get(r).index()).isEqualTo(r);
            // rows of one batch round differently from a sequence alone: equal within the batching tolerance
            assertThat(mean(best.choices().get(r))).isCloseTo(mean(candidates.get(r).choices().get(0)), within(1e-4));
            assertThat(best.choices().get(r).text()).isEqualTo(candidates.get(r).choices().get(0).text());
        }
        assertThat(best.usage().completionTokens()).as("every candidate's tokens count").isEqualTo(completionTokens);

        CompletionRequest hidden = withN(CompletionRequest.of(MODEL.name(), prompt, 6).withSampling(1.0, null, 3L), 1, 3);
        assertThat(serving.completions.complete(MODEL, hidden).choices().get(0).logprobs())
                .as("ranking needs logprobs; the client did not ask for them").isNull();
    }

    @Test
    void aStreamOfSeveralPromptsAndChoicesNamesTheChoiceInEveryChunk() {
        CompletionRequest request = withN(CompletionRequest.of(MODEL.name(), List.of("once upon", "the robot"), 6)
                .withSampling(0.7, null, 11L).withLogprobs(1, true), 2, null);
        CompletionResponse whole = serving.completions.complete(MODEL, request);
        List<CompletionResponse> chunks = new ArrayList<>();
        serving.completions.stream(MODEL, streaming(request), chunks::add);
        Map<Integer, StringBuilder> texts = new HashMap<>();
        Map<Integer, List<Double>> logprobs = new HashMap<>();
        Map<Integer, String> finished = new HashMap<>();
        for (CompletionResponse chunk : chunks.subList(0, chunks.size() - 1)) {
            assertThat(chunk.choices()).hasSize(1);
            CompletionResponse.Choice c = chunk.choices().get(0);
            assertThat(finished).as("nothing after a choice's finish chunk").doesNotContainKey(c.index());
            texts.computeIfAbsent(c.index(), k -> new StringBuilder()).append(c.text());
            if (c.logprobs() != null) {
                logprobs.computeIfAbsent(c.index(), k -> new ArrayList<>()).addAll(c.logprobs().tokenLogprobs());
            }
            if (c.finishReason() != null) {
                finished.put(c.index(), c.finishReason());
            }
        }
        assertThat(texts.keySet()).containsExactlyInAnyOrder(0, 1, 2, 3);
        for (CompletionResponse.Choice c : whole.choices()) {
            assertThat(texts.get(c.index()).toString()).isEqualTo(c.text());
            assertThat(logprobs.get(c.index())).usingElementComparator(WITHIN_BATCH_TOLERANCE)
                    .isEqualTo(c.logprobs().tokenLogprobs());
            assertThat(finished.get(c.index())).isEqualTo(c.finishReason());
        }
        CompletionResponse usage = chunks.get(chunks.size() - 1);
        assertThat(usage.choices()).isEmpty();
        assertThat(usage.usage()).isEqualTo(whole.usage());
    }

    @Test
    void badShapesAndTooMuchAreRefusedNamingTheField() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        assertParam("prompt", CompletionRequest.of(model.name(), List.of(), 4), "empty array");
        assertParam("prompt", CompletionRequest.of(model.name(), List.of("a", List.of(1, 2)), 4), "not a mix");
        assertParam("prompt", CompletionRequest.of(model.name(), List.of(List.of(1, 2), 3), 4), "not a mix");
        assertParam("prompt[1]", CompletionRequest.of(model.name(), List.of(List.of(1, 2), List.of()), 4), "empty");
        assertParam("prompt[0]", CompletionRequest.of(model.name(), List.of(List.of(1, 2.5), List.of(3)), 4), "integers");
        assertParam("prompt[1]", CompletionRequest.of(model.name(), List.of(List.of(1, 2), List.of(1, 100000)), 4),
                "outside the vocabulary");
        List<String> tooMany = IntStream.range(0, ServingFixtures.LIMITS.maxPrompts() + 1).mapToObj(i -> "p" + i).toList();
        assertParam("prompt", CompletionRequest.of(model.name(), tooMany, 4), "at most 64 in one request");
        List<String> sixtyFour = tooMany.subList(0, 64);
        assertParam("n", withN(CompletionRequest.of(model.name(), sixtyFour, 4), 3, null),
                "asks for 192 generations (64 prompt(s) × n 3); this server runs at most 128");
        assertParam("best_of", withN(CompletionRequest.of(model.name(), "hi", 4), 2, 300), "at most 128");
        assertParam("best_of", withN(CompletionRequest.of(model.name(), "hi", 4), 3, 2), "greater than or equal to n");
        assertThrows(InvalidRequestException.class,
                () -> serving.completions.openStream(model, streaming(withN(CompletionRequest.of(model.name(), "hi", 4), 1, 2))));
        assertParam("n", withN(CompletionRequest.of(model.name(), "hi", 4), 0, null), "at least 1");
    }

    @Test
    void everyPromptOfAListIsCheckedAgainstTheContextWithOpenAisSentence() {
        ServedModel model = ServingFixtures.base("tiny-llama");
        InvalidRequestException tooLong = assertThrows(InvalidRequestException.class, () -> serving.completions.complete(
                model, CompletionRequest.of(model.name(), List.of(ids(1, 10), ids(1, 200)), 5)));
        assertThat(tooLong.param()).isEqualTo("prompt[1]");
        assertThat(tooLong.getMessage()).isEqualTo("prompt[1]: This model's maximum context length is 128 tokens, however"
                + " you requested 205 tokens (200 in your prompt; 5 for the completion). Please reduce your prompt; or"
                + " completion length.");
        InvalidRequestException room = assertThrows(InvalidRequestException.class, () -> serving.completions.complete(
                model, CompletionRequest.of(model.name(), List.of(ids(1, 10), ids(1, 120)), 10)));
        assertThat(room.param()).isEqualTo("max_tokens");
        assertThat(room.getMessage()).contains("(120 in your prompt; 10 for the completion)");
    }

    private static void assertSameChoice(CompletionResponse.Choice batched, CompletionResponse.Choice alone) {
        assertThat(batched.text()).isEqualTo(alone.text());
        assertThat(batched.finishReason()).isEqualTo(alone.finishReason());
        CompletionResponse.Logprobs a = batched.logprobs();
        CompletionResponse.Logprobs b = alone.logprobs();
        assertThat(a.tokens()).isEqualTo(b.tokens());
        assertThat(a.textOffset()).isEqualTo(b.textOffset());
        assertThat(a.tokenLogprobs()).hasSameSizeAs(b.tokenLogprobs());
        for (int t = 0; t < a.tokenLogprobs().size(); t++) {
            if (b.tokenLogprobs().get(t) == null) {
                assertThat(a.tokenLogprobs().get(t)).isNull();
            } else {
                assertThat(a.tokenLogprobs().get(t)).isCloseTo(b.tokenLogprobs().get(t), within(TOLERANCE));
            }
        }
    }

    private static double mean(CompletionResponse.Choice choice) {
        return choice.logprobs().tokenLogprobs().stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    private static void assertParam(String param, CompletionRequest request, String reason) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> serving.completions.complete(ServingFixtures.base("tiny-llama"), request));
        assertThat(e.param()).as(e.getMessage()).isEqualTo(param);
        assertThat(e.getMessage()).contains(reason);
    }

    private static CompletionRequest withN(CompletionRequest r, Integer n, Integer bestOf) {
        return new CompletionRequest(r.model(), r.prompt(), r.maxTokens(), r.temperature(), r.topP(), r.seed(), r.stop(),
                n, r.stream(), r.streamOptions(), r.logprobs(), r.echo(), bestOf, null, null, null, null, null);
    }

    private static CompletionRequest streaming(CompletionRequest r) {
        return new CompletionRequest(r.model(), r.prompt(), r.maxTokens(), r.temperature(), r.topP(), r.seed(), r.stop(),
                r.n(), true, new CompletionRequest.StreamOptions(true), r.logprobs(), r.echo(), r.bestOf(), null, null,
                null, null, null);
    }

    /** {@code length} token ids from {@code first} on, all in tiny-llama's vocabulary (384). */
    private static List<Long> ids(long first, int length) {
        return LongStream.range(first, first + length).map(id -> 3 + id % 380).boxed().toList();
    }
}
