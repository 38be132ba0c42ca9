package dev.peftd.security;

import dev.peftd.kernel.PrivateFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The key of the embedded default: with no {@code PEFTD_API_KEYS}, a random key for tenant {@code default} is generated
 * on first start, printed once, and stored in {@code <data dir>/api-key} with mode 600. Later starts read it back
 * without printing it again.
 */
final class GeneratedApiKey {

    static final String TENANT = "default";

    private GeneratedApiKey() {
    }

    static ApiKeys loadOrCreate(Path file, PrintStream console) throws IOException {
        if (Files.exists(file)) {
            String key = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (key.length() < ApiKeys.MIN_KEY_LENGTH) {
                throw new IOException(file + " does not hold an API key (delete it to generate a new one)");
            }
            return ApiKeys.single(TENANT, key);
        }
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        String key = "peftd-" + HexFormat.of().formatHex(random);
        PrivateFiles.createDirectories(file.getParent());
        Path temp = PrivateFiles.createTempFile(file.getParent(), "api-key", ".tmp");
        Files.writeString(temp, key + "\n", StandardCharsets.UTF_8);
        Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        console.println();
        console.println("peftd: generated an API key for tenant '" + TENANT + "' (shown once; stored in " + file + "):");
        console.println("    " + key);
        console.println();
        return ApiKeys.single(TENANT, key);
    }
}
