package dev.peftd.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.function.Function;

/** OpenAI's cursor page: {@code {"object":"list","data":[…],"has_more":…}}; the cursor is the last item's id. */
public record ListPage<T>(String object, List<T> data, @JsonProperty("has_more") boolean hasMore) {

    public static final int DEFAULT_LIMIT = 20;
    public static final int MAX_LIMIT = 100;

    public static <T> ListPage<T> of(List<T> data, boolean hasMore) {
        return new ListPage<>("list", data, hasMore);
    }

    /** Builds a page from a query that fetched {@code limit + 1} rows: the extra row only says there are more. */
    public static <R, T> ListPage<T> fromOverfetch(List<R> rows, int limit, Function<R, T> view) {
        boolean more = rows.size() > limit;
        return of(rows.stream().limit(limit).map(view).toList(), more);
    }

    /** Validates a {@code limit} query parameter (1…100, default 20). */
    public static int limit(Integer requested) {
        if (requested == null) {
            return DEFAULT_LIMIT;
        }
        if (requested < 1 || requested > MAX_LIMIT) {
            throw ApiProblem.invalidField("limit", "must be between 1 and " + MAX_LIMIT + ", got " + requested);
        }
        return requested;
    }
}
