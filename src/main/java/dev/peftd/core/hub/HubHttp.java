package dev.peftd.core.hub;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * GET requests to the Hub with the token and an optional byte range. Redirects are followed here, not by the
 * HTTP client, so that the token is sent only to the Hub's own host and never to the CDN an LFS file redirects to.
 */
final class HubHttp {

    private static final int MAX_REDIRECTS = 5;

    private final HttpClient client;
    private final HubSettings settings;

    HubHttp(HttpClient client, HubSettings settings) {
        this.client = client;
        this.settings = settings;
    }

    /**
     * @param rangeStart first byte wanted; 0 for the whole file
     * @return the final (non-redirect) response; the caller closes its body
     */
    HttpResponse<InputStream> get(URI uri, long rangeStart, HubModelId id) {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(current).GET().timeout(Duration.ofMinutes(5))
                    .header("User-Agent", "peftd");
            if (settings.token().isPresent() && sameOrigin(current, settings.endpoint())) {
                request.header("Authorization", "Bearer " + settings.token().get());
            }
            if (rangeStart > 0) {
                request.header("Range", "bytes=" + rangeStart + "-");
            }
            HttpResponse<InputStream> response = send(request.build(), id);
            int status = response.statusCode();
            String location = response.headers().firstValue("Location").orElse(null);
            if (status >= 300 && status < 400 && location != null) {
                closeQuietly(response);
                current = current.resolve(location);
                continue;
            }
            return response;
        }
        throw new HubException("more than " + MAX_REDIRECTS + " redirects fetching " + uri + " for " + id);
    }

    /** A clear error for a non-success answer, using the Hub's {@code X-Error-Code} where it sends one. */
    HubException failure(HttpResponse<InputStream> response, HubModelId id, String doing) {
        String errorCode = response.headers().firstValue("X-Error-Code").orElse("");
        String serverMessage = response.headers().firstValue("X-Error-Message").orElseGet(() -> bodySnippet(response));
        int status = response.statusCode();
        String reason = switch (errorCode) {
            case "RepoNotFound" -> "repository " + id.repo() + " not found at " + settings.endpoint()
                    + (settings.token().isEmpty() ? " (if it is private, set HF_TOKEN)" : "");
            case "RevisionNotFound" -> "revision '" + id.revision() + "' not found in " + id.repo();
            case "EntryNotFound" -> "file not found in " + id;
            case "GatedRepo" -> id.repo() + " is gated: accept its terms on the Hub and set HF_TOKEN";
            default -> switch (status) {
                case 401 -> settings.token().isEmpty()
                        ? "401 Unauthorized: " + id.repo() + " needs a token; set HF_TOKEN"
                        : "401 Unauthorized: HF_TOKEN was rejected for " + id.repo();
                case 403 -> "403 Forbidden: the token may not read " + id.repo();
                case 404 -> "404 Not Found: " + id.repo() + " (or revision '" + id.revision() + "') does not exist at "
                        + settings.endpoint();
                default -> "HTTP " + status;
            };
        };
        return new HubException(doing + " for " + id + ": " + reason
                + (serverMessage.isBlank() ? "" : " (Hub says: " + serverMessage + ")"));
    }

    private HttpResponse<InputStream> send(HttpRequest request, HubModelId id) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            if (HubClient.HubUnreachableException.isUnreachable(e)) {
                throw new HubClient.HubUnreachableException("cannot reach " + settings.endpoint() + " for " + id
                        + ": " + Objects.toString(e.getMessage(), e.getClass().getSimpleName()), e);
            }
            throw new HubException("request " + request.uri() + " for " + id + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("interrupted while downloading " + id, e);
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(a.getScheme(), b.getScheme()) && Objects.equals(a.getHost(), b.getHost())
                && a.getPort() == b.getPort();
    }

    private static String bodySnippet(HttpResponse<InputStream> response) {
        try (InputStream body = response.body()) {
            String text = new String(body.readNBytes(300), StandardCharsets.UTF_8).strip();
            return text.replaceAll("\\s+", " ");
        } catch (IOException e) {
            return "";
        }
    }

    static void closeQuietly(HttpResponse<InputStream> response) {
        try {
            response.body().close();
        } catch (IOException ignored) {
            // the connection is dropped either way
        }
    }
}
