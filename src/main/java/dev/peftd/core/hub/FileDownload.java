package dev.peftd.core.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One file from the Hub into the cache: bytes go to a {@code .part} file, an interrupted transfer resumes from
 * its length with {@code Range: bytes=N-}, and the finished file is checked (size; sha256 for LFS files, the git
 * blob sha1 from the ETag for small ones) before it is moved into the snapshot.
 */
final class FileDownload {

    private static final int ATTEMPTS = 4;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");
    private static final Pattern GIT_SHA1 = Pattern.compile("(?:W/)?\"?([0-9a-f]{40})\"?");

    private final HubHttp http;

    FileDownload(HubHttp http) {
        this.http = http;
    }

    void fetch(URI uri, Path part, Path target, RepoManifest.RepoFile file, HubModelId id) {
        String etag = null;
        IOException lastFailure = null;
        boolean received = false;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                Files.createDirectories(part.getParent());
                long have = Files.exists(part) ? Files.size(part) : 0;
                if (file.size() >= 0 && have == file.size()) {
                    received = true; // a previous run wrote every byte but stopped before the move
                    break;
                }
                HttpResponse<InputStream> response = http.get(uri, have, id);
                etag = response.headers().firstValue("X-Linked-Etag").or(() -> response.headers().firstValue("ETag"))
                        .orElse(etag);
                receive(response, part, have, file, id);
                received = true;
                break;
            } catch (IOException e) {
                lastFailure = e; // dropped connection: the next attempt resumes from what reached the disk
            }
        }
        try {
            if (!received) {
                throw new HubException("downloading " + file.path() + " of " + id + " failed after " + ATTEMPTS
                        + " attempts (" + lastFailure.getMessage() + "); run again to resume from " + part, lastFailure);
            }
            verify(part, file, etag, id);
            Files.createDirectories(target.getParent());
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HubException("cannot store " + file.path() + " of " + id + " at " + target + ": " + e.getMessage(), e);
        }
    }

    private void receive(HttpResponse<InputStream> response, Path part, long have, RepoManifest.RepoFile file,
                         HubModelId id) throws IOException {
        int status = response.statusCode();
        boolean append;
        if (status == 206) {
            Matcher range = CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
            if (!range.matches() || Long.parseLong(range.group(1)) != have) {
                HubHttp.closeQuietly(response);
                Files.deleteIfExists(part); // the server resumed somewhere else: start over rather than corrupt
                throw new IOException("server answered the range request for " + file.path() + " with "
                        + response.headers().firstValue("Content-Range").orElse("no Content-Range"));
            }
            append = true;
        } else if (status == 200) {
            append = false;
        } else if (status == 416) {
            HubHttp.closeQuietly(response);
            Files.deleteIfExists(part); // our partial file is longer than the remote one: it is not this file
            throw new IOException("range not satisfiable for " + file.path() + "; restarting");
        } else {
            throw http.failure(response, id, "downloading " + file.path());
        }
        try (InputStream body = response.body();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            body.transferTo(out);
        }
    }

    private static void verify(Path part, RepoManifest.RepoFile file, String etag, HubModelId id) throws IOException {
        long size = Files.size(part);
        if (file.size() >= 0 && size != file.size()) {
            Files.delete(part);
            throw new HubException(file.path() + " of " + id + ": got " + size + " bytes, the Hub lists " + file.size()
                    + " (deleted; run again)");
        }
        if (file.sha256() != null) {
            String actual = digest(part, "SHA-256", null);
            if (!actual.equalsIgnoreCase(file.sha256())) {
                Files.delete(part);
                throw new HubException(file.path() + " of " + id + ": sha256 " + actual + " does not match the Hub's "
                        + file.sha256() + " (deleted; run again)");
            }
            return;
        }
        Matcher gitSha = etag == null ? null : GIT_SHA1.matcher(etag);
        if (gitSha != null && gitSha.matches()) {
            // Small files are stored in git; their ETag is the git blob id: sha1("blob <size>\0" + content).
            String actual = digest(part, "SHA-1", ("blob " + size + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            if (!actual.equals(gitSha.group(1))) {
                Files.delete(part);
                throw new HubException(file.path() + " of " + id + ": git blob sha1 " + actual
                        + " does not match the ETag " + gitSha.group(1) + " (deleted; run again)");
            }
        }
    }

    private static String digest(Path file, String algorithm, byte[] header) throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance(algorithm);
            if (header != null) {
                digest.update(header);
            }
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                }
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every JDK", e);
        }
    }
}
