package dev.peftd.security;

/**
 * Keys of the people and scrapers that run the service ({@code PEFTD_OPERATOR_KEYS}, comma-separated): they read the
 * process-wide metrics ({@code /actuator/prometheus}, {@code /actuator/metrics}), which carry every tenant's job ids,
 * and nothing of the tenant API. Kept as digests like the tenant keys.
 */
final class OperatorKeys {

    private final KeyDigests digests = new KeyDigests();

    private OperatorKeys() {
    }

    /**
     * Parses {@code key,key}; an empty spec means no operator keys.
     *
     * @throws IllegalArgumentException naming the entry and what is wrong with it
     */
    static OperatorKeys parse(String spec) {
        OperatorKeys keys = new OperatorKeys();
        int index = 0;
        for (String entry : spec == null ? new String[0] : spec.split(",")) {
            index++;
            String key = entry.trim();
            if (key.isEmpty()) {
                continue;
            }
            if (key.indexOf(':') >= 0) {
                throw new IllegalArgumentException("PEFTD_OPERATOR_KEYS entry " + index
                        + " holds ':'; list bare keys (operators are not tenants, so there is no 'tenant:' part)");
            }
            if (key.length() < ApiKeys.MIN_KEY_LENGTH) {
                throw new IllegalArgumentException("PEFTD_OPERATOR_KEYS entry " + index + ": key must have at least "
                        + ApiKeys.MIN_KEY_LENGTH + " characters");
            }
            keys.digests.add("operator#" + keys.digests.size(), key);
        }
        return keys;
    }

    boolean matches(String presentedKey) {
        return digests.labelOf(presentedKey).isPresent();
    }

    int size() {
        return digests.size();
    }
}
