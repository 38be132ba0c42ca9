package dev.peftd.core.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/**
 * Downloads a model snapshot from the Hugging Face Hub (or any server with its URL layout, {@code HF_ENDPOINT})
 * into an on-disk cache and returns the local directory.
 *
 * <p>Cache layout, per repo {@code org/name}: {@code org--name/snapshots/<commit>/<file>} for finished files,
 * {@code org--name/refs/<revision>} holding the commit a branch or tag resolved to, and
 * {@code org--name/partial/<commit>/<file>.part} for interrupted downloads, which resume with an HTTP Range
 * request. A snapshot is used without asking the Hub when it is pinned to a commit sha and complete, or when the
 * Hub cannot be reached and the revision was resolved before.
 */
public final class HubClient {

    /** What a causal LM needs: top-level configs, tokenizer files, chat template and safetensors weights. */
    public static final Predicate<String> MODEL_FILES = path -> !path.contains("/")
            && (path.endsWith(".json") || path.endsWith(".safetensors") || path.endsWith(".jinja"));

    private static final String COMPLETE_MARKER = ".peftd-complete";

    private final HubSettings settings;
    private final HubHttp http;

    public HubClient(HubSettings settings) {
        this.settings = settings;
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NEVER) // HubHttp follows them, dropping the token off-host
                .build();
        this.http = new HubHttp(client, settings);
    }

    /** Downloads (or finds in the cache) the files of {@code id} that a causal LM needs. */
    public Path snapshot(HubModelId id) {
        return snapshot(id, MODEL_FILES);
    }

    public Path snapshot(HubModelId id, Predicate<String> wanted) {
        Path repoDir = settings.cacheDirectory().resolve(id.repo().replace("/", "--"));
        if (id.isPinnedToCommit() && isComplete(repoDir.resolve("snapshots").resolve(id.revision()))) {
            return repoDir.resolve("snapshots").resolve(id.revision());
        }
        RepoManifest manifest;
        try {
            manifest = fetchManifest(id);
        } catch (HubUnreachableException e) {
            return cachedSnapshot(repoDir, id).orElseThrow(() -> new HubException(e.getMessage()
                    + "; no cached copy of " + id + " in " + repoDir, e.getCause()));
        }
        Path snapshotDir = repoDir.resolve("snapshots").resolve(manifest.commitSha());
        List<RepoManifest.RepoFile> files = manifest.files().stream().filter(f -> wanted.test(f.path())).toList();
        if (files.stream().noneMatch(f -> f.path().endsWith(".safetensors"))) {
            throw new HubException(id + " has no .safetensors weights (peftd does not load .bin checkpoints)");
        }
        FileDownload download = new FileDownload(http);
        for (RepoManifest.RepoFile file : files) {
            Path target = snapshotDir.resolve(file.path());
            if (Files.isRegularFile(target) && (file.size() < 0 || size(target) == file.size())) {
                continue;
            }
            URI uri = URI.create(settings.endpoint() + "/" + id.repo() + "/resolve/" + manifest.commitSha() + "/"
                    + encodePath(file.path()));
            Path part = repoDir.resolve("partial").resolve(manifest.commitSha()).resolve(file.path() + ".part");
            download.fetch(uri, part, target, file, id);
        }
        write(snapshotDir.resolve(COMPLETE_MARKER), String.join("\n", files.stream().map(RepoManifest.RepoFile::path).toList()));
        write(repoDir.resolve("refs").resolve(id.revision()), manifest.commitSha());
        return snapshotDir;
    }

    private RepoManifest fetchManifest(HubModelId id) {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + id.repo() + "/revision/"
                + URLEncoder.encode(id.revision(), StandardCharsets.UTF_8) + "?blobs=true");
        HttpResponse<InputStream> response = http.get(uri, 0, id);
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                throw http.failure(response, id, "resolving revision '" + id.revision() + "'");
            }
            return RepoManifest.parse(new String(body.readAllBytes(), StandardCharsets.UTF_8), id);
        } catch (IOException e) {
            throw new HubException("reading the Hub's answer for " + id + " failed: " + e.getMessage(), e);
        }
    }

    private static java.util.Optional<Path> cachedSnapshot(Path repoDir, HubModelId id) {
        Path ref = repoDir.resolve("refs").resolve(id.revision());
        try {
            String sha = id.isPinnedToCommit() ? id.revision() : Files.isRegularFile(ref) ? Files.readString(ref).trim() : null;
            Path dir = sha == null ? null : repoDir.resolve("snapshots").resolve(sha);
            return dir != null && isComplete(dir) ? java.util.Optional.of(dir) : java.util.Optional.empty();
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    private static boolean isComplete(Path snapshotDir) {
        return Files.isRegularFile(snapshotDir.resolve(COMPLETE_MARKER));
    }

    private static String encodePath(String path) {
        StringBuilder encoded = new StringBuilder();
        for (String segment : path.split("/")) {
            if (!encoded.isEmpty()) {
                encoded.append('/');
            }
            encoded.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return encoded.toString();
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void write(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The Hub did not answer at all (DNS, refused connection, timeout), as opposed to answering with an error. */
    static final class HubUnreachableException extends HubException {
        HubUnreachableException(String message, IOException cause) {
            super(message, cause);
        }

        static boolean isUnreachable(IOException e) {
            return e instanceof ConnectException || e instanceof java.net.http.HttpConnectTimeoutException
                    || e.getCause() instanceof java.nio.channels.UnresolvedAddressException;
        }
    }
}
