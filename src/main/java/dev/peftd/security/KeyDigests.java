package dev.peftd.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Secret keys held only as SHA-256 digests, each under a label. A lookup compares the presented key's digest with
 * every stored one in constant time, so a key never sits in memory as a plain string and timing does not leak which
 * entry (or which prefix) matched.
 */
final class KeyDigests {

    private final Map<String, byte[]> digestByLabel = new LinkedHashMap<>();

    void add(String label, String key) {
        digestByLabel.put(label, sha256(key));
    }

    /** The label of the matching key; every digest is compared whatever the outcome. */
    Optional<String> labelOf(String presentedKey) {
        byte[] presented = sha256(presentedKey);
        String found = null;
        for (Map.Entry<String, byte[]> entry : digestByLabel.entrySet()) {
            if (MessageDigest.isEqual(entry.getValue(), presented)) {
                found = entry.getKey();
            }
        }
        return Optional.ofNullable(found);
    }

    int size() {
        return digestByLabel.size();
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
