package dev.peftd.serving;

import dev.peftd.security.Tenant;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.MediaType;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * OpenAI's {@code POST /v1/completions} and {@code POST /v1/chat/completions}. {@code stream: true} answers with
 * server-sent events in OpenAI's chunk format, ending with {@code data: [DONE]}; the request is checked and the
 * model opened before the stream starts, so every client error is still a problem+json response.
 */
@RestController
class ServingController {

    private static final Logger log = LoggerFactory.getLogger(ServingController.class);

    private final ServedModels models;
    private final Completions completions;
    private final ChatCompletions chat;
    private final ExecutorService streams;
    private final long streamTimeoutMillis;

    ServingController(ServedModels models, Completions completions, ChatCompletions chat,
            @Qualifier("servingStreams") ExecutorService streams,
            ServingProperties properties) {
        this.models = models;
        this.completions = completions;
        this.chat = chat;
        this.streams = streams;
        this.streamTimeoutMillis = properties.streamTimeout().toMillis();
    }

    @PostMapping("/v1/completions")
    Object complete(@AuthenticationPrincipal Tenant tenant, @RequestBody CompletionRequest request) {
        ServedModel model = models.resolve(tenant.name(), request.model());
        if (request.isStream()) {
            return stream(completions.openStream(model, request));
        }
        return completions.complete(model, request);
    }

    @PostMapping("/v1/chat/completions")
    Object chat(@AuthenticationPrincipal Tenant tenant, @RequestBody ChatCompletionRequest request) {
        ServedModel model = models.resolve(tenant.name(), request.model());
        if (request.isStream()) {
            return stream(chat.openStream(model, request));
        }
        return chat.complete(model, request);
    }

    /**
     * Streams on a serving thread. A client that leaves ends the generation: the container's error or timeout
     * callback cancels it, and a chunk that cannot be written stops it at that token.
     */
    private <T> SseEmitter stream(StreamingAnswer<T> answer) {
        SseEmitter emitter = new SseEmitter(streamTimeoutMillis);
        emitter.onError(e -> answer.cancel());
        emitter.onTimeout(answer::cancel);
        try {
            streams.execute(() -> {
                try {
                    answer.run(chunk -> send(emitter, chunk));
                    emitter.send(SseEmitter.event().data("[DONE]", MediaType.TEXT_PLAIN));
                    emitter.complete();
                } catch (ClientGoneException e) { // nobody to tell: end the async request without an error dispatch
                    log.debug("stream client went away: {}", e.getCause().toString());
                    emitter.complete();
                } catch (IOException | RuntimeException e) {
                    log.warn("stream ended early: {}", e.toString());
                    emitter.completeWithError(e);
                }
            });
        } catch (RuntimeException e) {
            answer.close();
            throw e;
        }
        return emitter;
    }

    private static void send(SseEmitter emitter, Object chunk) {
        try {
            emitter.send(SseEmitter.event().data(chunk, MediaType.APPLICATION_JSON));
        } catch (IOException | IllegalStateException e) { // a closed connection, or an emitter already completed
            throw new ClientGoneException(e); // stops generation at this token
        }
    }
}
