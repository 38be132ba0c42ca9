package dev.peftd.api;

import dev.peftd.kernel.Refusal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@code Idempotency-Key} on creates. The first request with a key stores the hash of its body and the id of what it
 * created, in the same transaction as the object itself; a replay returns that object, and the same key with a
 * different body is a 422. Keys are scoped per tenant and per operation.
 */
@Component
public class IdempotencyKeys {

    private static final int MAX_KEY_LENGTH = 255;

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final Clock clock;

    IdempotencyKeys(JdbcClient jdbc, TransactionTemplate transactions, Clock clock) {
        this.jdbc = jdbc;
        this.transactions = transactions;
        this.clock = clock;
    }

    /**
     * @param key         the header value, or {@code null} for a plain create
     * @param requestHash {@link #hash} of everything that defines the request
     * @param create      creates the object inside the transaction and returns its id
     * @param load        loads an object by id (for a replay)
     */
    public <T> T create(String tenant, String operation, String key, String requestHash, Supplier<String> create,
            Function<String, T> load) {
        if (key == null) {
            return load.apply(transactions.execute(status -> create.get()));
        }
        if (key.isBlank() || key.length() > MAX_KEY_LENGTH) {
            throw ApiProblem.invalidField("Idempotency-Key", "must be 1 to " + MAX_KEY_LENGTH + " characters");
        }
        Optional<String> replay = replay(tenant, operation, key, requestHash);
        if (replay.isPresent()) {
            return load.apply(replay.get());
        }
        try {
            String id = transactions.execute(status -> {
                String created = create.get();
                jdbc.sql("""
                        insert into idempotency_keys (tenant, operation, key, request_hash, resource_id, created_at)
                        values (?, ?, ?, ?, ?, ?)""")
                        .params(tenant, operation, key, requestHash, created, java.sql.Timestamp.from(clock.instant()))
                        .update();
                return created;
            });
            return load.apply(id);
        } catch (DuplicateKeyException raced) {
            // A concurrent request with the same key won; its transaction rolled ours back. Answer as a replay.
            return load.apply(replay(tenant, operation, key, requestHash).orElseThrow(() -> raced));
        }
    }

    private Optional<String> replay(String tenant, String operation, String key, String requestHash) {
        record Stored(String requestHash, String resourceId) {
        }
        Optional<Stored> stored = jdbc.sql("""
                select request_hash, resource_id from idempotency_keys where tenant = ? and operation = ? and key = ?""")
                .params(tenant, operation, key)
                .query(Stored.class)
                .optional();
        if (stored.isPresent() && !stored.get().requestHash().equals(requestHash)) {
            throw new ApiProblem(ApiProblem.Type.IDEMPOTENCY_KEY_REUSED,
                    "Idempotency-Key '" + key + "' was already used for a different " + operation + " request",
                    java.util.List.of(new Refusal.FieldError("Idempotency-Key", "already used with a different body")));
        }
        return stored.map(Stored::resourceId);
    }

    /** SHA-256 over the parts that define a request, separated so that ("ab","c") and ("a","bc") differ. */
    public static String hash(String... parts) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (String part : parts) {
                digest.update(String.valueOf(part).getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
