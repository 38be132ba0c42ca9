package dev.peftd.serving;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * An adapter uploaded for serving, as stored and as {@code GET /v1/adapters/{id}} shows it.
 *
 * @param name        optional; a request's {@code model} may use it instead of the id
 * @param mergedModel the base model id a merge registered, or {@code null}
 */
public record ServedAdapter(String id, String tenant, String name, String baseModel, String method, int rank,
                            int modules, long bytes, String mergedModel, Instant createdAt) {

    /** OpenAI-style view: {@code object: "adapter"}, seconds since the epoch. */
    public record View(String id, String object, String name, @JsonProperty("base_model") String baseModel,
                       String method, int rank, int modules, long bytes,
                       @JsonProperty("merged_model") String mergedModel, long created) {
    }

    View view() {
        return new View(id, "adapter", name, baseModel, method, rank, modules, bytes, mergedModel,
                createdAt.getEpochSecond());
    }
}
