package dev.peftd.security;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The configured bearer keys, each belonging to a tenant. Only SHA-256 digests are kept in memory, and lookups compare
 * digests in constant time, so a key never sits in a map as a plain string and timing does not leak its prefix.
 */
final class ApiKeys {

    static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    static final int MIN_KEY_LENGTH = 16;

    private final KeyDigests digests = new KeyDigests();
    private final Map<String, String> tenantByLabel = new LinkedHashMap<>();

    private ApiKeys() {
    }

    /**
     * Parses {@code tenant:key,tenant:key}. A tenant may hold several keys (key rotation).
     *
     * @throws IllegalArgumentException naming the entry and what is wrong with it
     */
    static ApiKeys parse(String spec) {
        ApiKeys keys = new ApiKeys();
        int index = 0;
        for (String entry : spec.split(",")) {
            index++;
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            int colon = trimmed.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("PEFTD_API_KEYS entry " + index + " is not 'tenant:key'");
            }
            String tenant = trimmed.substring(0, colon);
            String key = trimmed.substring(colon + 1);
            if (!TENANT.matcher(tenant).matches()) {
                throw new IllegalArgumentException("PEFTD_API_KEYS entry " + index + ": tenant '" + tenant
                        + "' must match " + TENANT.pattern());
            }
            if (key.length() < MIN_KEY_LENGTH) {
                throw new IllegalArgumentException("PEFTD_API_KEYS entry " + index + " (tenant " + tenant
                        + "): key must have at least " + MIN_KEY_LENGTH + " characters");
            }
            keys.add(tenant, key);
        }
        if (keys.digests.size() == 0) {
            throw new IllegalArgumentException("PEFTD_API_KEYS holds no 'tenant:key' entry");
        }
        return keys;
    }

    static ApiKeys single(String tenant, String key) {
        ApiKeys keys = new ApiKeys();
        keys.add(tenant, key);
        return keys;
    }

    private void add(String tenant, String key) {
        String label = tenant + "#" + digests.size();
        digests.add(label, key);
        tenantByLabel.put(label, tenant);
    }

    /** The tenant owning this key; every stored digest is compared, so the time taken does not depend on which matched. */
    Optional<Tenant> tenantOf(String presentedKey) {
        return digests.labelOf(presentedKey).map(label -> new Tenant(tenantByLabel.get(label)));
    }

    /** Every tenant holding at least one key. */
    java.util.Set<String> tenants() {
        return java.util.Set.copyOf(tenantByLabel.values());
    }

    int size() {
        return digests.size();
    }

    /** How many distinct tenants hold keys (a tenant rotating keys holds several). */
    long tenantCount() {
        return tenantByLabel.values().stream().distinct().count();
    }
}
