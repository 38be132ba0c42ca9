package dev.peftd.core.hub;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An HTTP server with the Hub's URL layout, for tests: {@code /api/models/{repo}/revision/{rev}} answers the
 * manifest, {@code /{repo}/resolve/{rev}/{file}} serves small files with a git-blob ETag and redirects LFS files
 * (weights) to a CDN path on another host name ({@code localhost} instead of {@code 127.0.0.1}), as the Hub does.
 * It honours Range requests and can be told to drop a connection half way through a file.
 */
final class LocalHubServer implements AutoCloseable {

    record Repo(String sha, Map<String, byte[]> files, boolean isPrivate) {
    }

    private static final Pattern API = Pattern.compile("/api/models/([^/]+/[^/]+)/revision/([^/?]+)");
    private static final Pattern RESOLVE = Pattern.compile("/([^/]+/[^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern CDN = Pattern.compile("/cdn/([0-9a-f]{64})");
    static final String TOKEN = "hf_test_token";

    private final HttpServer server;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobsBySha256 = new ConcurrentHashMap<>();
    final List<String> requests = new CopyOnWriteArrayList<>();
    final List<String> cdnAuthorizationHeaders = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> dropsLeft = new ConcurrentHashMap<>();
    private final java.util.Set<String> corrupted = ConcurrentHashMap.newKeySet();

    LocalHubServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    void addRepo(String name, Repo repo) {
        repos.put(name, repo);
        for (Map.Entry<String, byte[]> file : repo.files().entrySet()) {
            if (isLfs(file.getKey())) {
                blobsBySha256.put(sha256(file.getValue()), file.getValue());
            }
        }
    }

    /** The next {@code times} transfers of a file stop after half of its bytes, as a dropped connection does. */
    void dropHalfWay(String fileName, int times) {
        dropsLeft.put(fileName, new AtomicInteger(times));
    }

    /** Serves {@code fileName} with its first byte flipped, as a broken proxy or disk would. */
    void corrupt(String fileName) {
        corrupted.add(fileName);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String range = exchange.getRequestHeaders().getFirst("Range");
        requests.add(path + (range == null ? "" : " " + range));
        try (exchange) {
            Matcher m;
            if ((m = API.matcher(path)).matches()) {
                manifest(exchange, m.group(1), m.group(2));
            } else if ((m = RESOLVE.matcher(path)).matches()) {
                resolve(exchange, m.group(1), m.group(2), m.group(3));
            } else if ((m = CDN.matcher(path)).matches()) {
                cdnAuthorizationHeaders.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
                byte[] blob = blobsBySha256.get(m.group(1));
                send(exchange, path.substring(path.lastIndexOf('/') + 1), blob, null);
            } else {
                error(exchange, 404, null, "no route " + path);
            }
        }
    }

    private void manifest(HttpExchange exchange, String name, String revision) throws IOException {
        Repo repo = authorized(exchange, name);
        if (repo == null) {
            return;
        }
        if (!revision.equals("main") && !revision.equals(repo.sha())) {
            error(exchange, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        JsonObject root = new JsonObject();
        root.addProperty("id", name);
        root.addProperty("sha", repo.sha());
        JsonArray siblings = new JsonArray();
        repo.files().forEach((file, bytes) -> {
            JsonObject sibling = new JsonObject();
            sibling.addProperty("rfilename", file);
            sibling.addProperty("size", bytes.length);
            if (isLfs(file)) {
                JsonObject lfs = new JsonObject();
                lfs.addProperty("sha256", sha256(bytes));
                lfs.addProperty("size", bytes.length);
                sibling.add("lfs", lfs);
            }
            siblings.add(sibling);
        });
        root.add("siblings", siblings);
        byte[] body = root.toString().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
    }

    private void resolve(HttpExchange exchange, String name, String revision, String file) throws IOException {
        Repo repo = authorized(exchange, name);
        if (repo == null) {
            return;
        }
        byte[] bytes = repo.files().get(file);
        if (!revision.equals(repo.sha()) || bytes == null) {
            error(exchange, 404, "EntryNotFound", file + " does not exist on " + revision);
            return;
        }
        if (isLfs(file)) {
            String sha = sha256(bytes);
            exchange.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
            exchange.getResponseHeaders().add("Location", "http://localhost:" + server.getAddress().getPort() + "/cdn/" + sha);
            exchange.sendResponseHeaders(302, -1);
            return;
        }
        send(exchange, file, bytes, "\"" + gitBlobSha1(bytes) + "\"");
    }

    private void send(HttpExchange exchange, String file, byte[] bytes, String etag) throws IOException {
        String range = exchange.getRequestHeaders().getFirst("Range");
        int start = range == null ? 0 : Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
        if (etag != null) {
            exchange.getResponseHeaders().add("ETag", etag);
        }
        if (start > 0) {
            exchange.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (bytes.length - 1) + "/" + bytes.length);
        }
        int length = bytes.length - start;
        if (corrupted.contains(file)) {
            bytes = bytes.clone();
            bytes[0] ^= 0x5a;
        }
        exchange.sendResponseHeaders(start > 0 ? 206 : 200, length);
        OutputStream out = exchange.getResponseBody();
        AtomicInteger drops = dropsLeft.get(file);
        if (drops != null && drops.getAndDecrement() > 0) {
            out.write(bytes, start, length / 2);
            out.flush();
            throw new IOException("test server drops the connection half way through " + file);
        }
        out.write(bytes, start, length);
    }

    private Repo authorized(HttpExchange exchange, String name) throws IOException {
        Repo repo = repos.get(name);
        if (repo == null) {
            error(exchange, 404, "RepoNotFound", "Repository not found");
            return null;
        }
        String auth = exchange.getRequestHeaders().getFirst("Authorization");
        if (repo.isPrivate() && !("Bearer " + TOKEN).equals(auth)) {
            error(exchange, 401, null, "Invalid credentials in Authorization header");
            return null;
        }
        return repo;
    }

    private static void error(HttpExchange exchange, int status, String code, String message) throws IOException {
        if (code != null) {
            exchange.getResponseHeaders().add("X-Error-Code", code);
        }
        exchange.getResponseHeaders().add("X-Error-Message", message);
        byte[] body = ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    static boolean isLfs(String file) {
        return file.endsWith(".safetensors");
    }

    static String sha256(byte[] bytes) {
        return digest("SHA-256", bytes);
    }

    static String gitBlobSha1(byte[] bytes) {
        byte[] header = ("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[header.length + bytes.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(bytes, 0, all, header.length, bytes.length);
        return digest("SHA-1", all);
    }

    private static String digest(String algorithm, byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, byte[]> files(Object... nameThenBytes) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 0; i < nameThenBytes.length; i += 2) {
            files.put((String) nameThenBytes[i], (byte[]) nameThenBytes[i + 1]);
        }
        return files;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
