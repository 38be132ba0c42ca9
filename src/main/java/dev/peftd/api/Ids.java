package dev.peftd.api;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Object ids in OpenAI's style: a type prefix and 96 random bits ({@code file-…}, {@code ftjob-…}). */
public final class Ids {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static String next(String prefix) {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return prefix + "-" + HexFormat.of().formatHex(bytes);
    }
}
