package dev.peftd.core.hub;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where the Hub is and who we are: {@code HF_ENDPOINT} (default https://huggingface.co), {@code HF_TOKEN}
 * (for gated and private repos), and the download cache ({@code PEFTD_HUB_CACHE}, default
 * {@code ~/.cache/peftd/hub}).
 */
public record HubSettings(URI endpoint, Optional<String> token, Path cacheDirectory) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubSettings {
        String e = endpoint.toString();
        endpoint = URI.create(e.endsWith("/") ? e.substring(0, e.length() - 1) : e);
        token = token.filter(t -> !t.isBlank());
    }

    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static HubSettings fromEnvironment(Map<String, String> env) {
        String endpoint = env.getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT);
        Optional<String> token = Optional.ofNullable(env.get("HF_TOKEN"))
                .or(() -> Optional.ofNullable(env.get("HUGGING_FACE_HUB_TOKEN")));
        Path cache = env.containsKey("PEFTD_HUB_CACHE") ? Path.of(env.get("PEFTD_HUB_CACHE"))
                : Path.of(System.getProperty("user.home"), ".cache", "peftd", "hub");
        return new HubSettings(URI.create(endpoint), token, cache);
    }
}
