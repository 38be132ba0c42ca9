package dev.peftd.core.adapter.peft;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Identifies a base model's weights: SHA-256 over {@code config.json} and every {@code *.safetensors} weight file
 * (except the fixtures' {@code reference.safetensors}), in file-name order, each preceded by its name. An adapter is
 * only meaningful on the weights it was trained on; this is what {@code peftd.json} records and checks.
 */
public final class ModelChecksum {

    private ModelChecksum() {
    }

    /** {@code sha256:<hex>}. */
    public static String of(Path modelDir) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(modelDir)) {
            files = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.equals("config.json") || (n.endsWith(".safetensors") && !n.equals("reference.safetensors"));
            }).sorted().toList();
        }
        if (files.stream().noneMatch(p -> p.toString().endsWith(".safetensors"))) {
            throw new IOException(modelDir + ": no *.safetensors weights to checksum");
        }
        byte[] buffer = new byte[1 << 20];
        for (Path f : files) {
            digest.update(f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                }
            }
        }
        return "sha256:" + HexFormat.of().formatHex(digest.digest());
    }
}
